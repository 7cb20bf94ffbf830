"""The awsdb_e6data test engine (extra ``[engine]``): an e6data-compatible gRPC server over an
in-memory DuckDB, with switchable behaviours for tests (blue/green phases, 456, suspended
cluster and resume, wrong credentials, slow queries, expired sessions, injected faults).

Start it with ``python -m awsdb_e6data.engine`` (or the ``awsdb-e6data-engine`` script), or
in-process::

    from awsdb_e6data.engine import Engine
    with Engine(port=0) as engine:
        ...  # engine.port, engine.control.set_phase({"blue", "green"}, announce="green")

Importing this package starts nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._control import EngineControl
    from ._server import Engine
    from ._tls import EngineCertificates, make_test_certificates

__all__ = ["Engine", "EngineCertificates", "EngineControl", "make_test_certificates"]


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from ._server import Engine

        return Engine
    if name == "EngineControl":
        from ._control import EngineControl

        return EngineControl
    if name in ("EngineCertificates", "make_test_certificates"):
        from . import _tls

        return getattr(_tls, name)
    raise AttributeError(name)
