"""Finding the PostgreSQL server binaries.

Order: ``$PGBIN``, ``pg_config --bindir``, the newest ``/usr/lib/postgresql/*/bin``, the
``pgserver`` wheel's bundled binaries. When nothing is found, :class:`PgBinariesNotFoundError`
says what to install.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PgBinaries", "PgBinariesNotFoundError", "find_pg_binaries"]

_REQUIRED = ("postgres", "initdb", "pg_ctl", "pg_basebackup", "pg_rewind")

INSTALL_HINT = (
    "PostgreSQL server binaries not found. Install them with "
    "`apt-get install postgresql-15` (Debian/Ubuntu) or `pip install pgserver`, "
    "or point $PGBIN at a directory holding postgres, initdb, pg_ctl, pg_basebackup "
    "and pg_rewind."
)


class PgBinariesNotFoundError(RuntimeError):
    """No usable PostgreSQL server binaries were found."""


@dataclass(frozen=True)
class PgBinaries:
    """A directory of PostgreSQL server binaries and the major version they belong to."""

    bindir: Path
    version: str  # e.g. "15.18"
    source: str  # "PGBIN" | "pg_config" | "system" | "pgserver"

    @property
    def major(self) -> int:
        """The major version number (15 for 15.18)."""
        return int(self.version.split(".")[0])

    def tool(self, name: str) -> str:
        """Absolute path of one binary, e.g. ``tool("pg_ctl")``."""
        return str(self.bindir / name)


def _usable(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in _REQUIRED)


def _version(bindir: Path) -> str:
    out = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"(\d+(?:\.\d+)?)", out)
    if match is None:
        raise PgBinariesNotFoundError(f"cannot parse `postgres --version` output: {out!r}")
    return match.group(1)


def _candidates() -> list[tuple[Path, str]]:
    found: list[tuple[Path, str]] = []
    env = os.environ.get("PGBIN")
    if env:
        found.append((Path(env), "PGBIN"))
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
            found.append((Path(out), "pg_config"))
        except (OSError, subprocess.SubprocessError):
            pass
    system = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else -1,
        reverse=True,
    )
    found += [(p, "system") for p in system]
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            found.append((Path(loc) / "pginstall" / "bin", "pgserver"))
    return found


def find_pg_binaries() -> PgBinaries:
    """Return the first usable binary directory in discovery order.

    Raises :class:`PgBinariesNotFoundError` (with installation advice) when there is none. An
    explicit ``$PGBIN`` that is not usable is an error, not skipped.
    """
    for bindir, source in _candidates():
        if _usable(bindir):
            return PgBinaries(bindir, _version(bindir), source)
        if source == "PGBIN":
            raise PgBinariesNotFoundError(f"$PGBIN={bindir} lacks one of {', '.join(_REQUIRED)}")
    raise PgBinariesNotFoundError(INSTALL_HINT)
