"""The checked-in references match what the code generates; every hook has a docstring."""

from __future__ import annotations

import inspect
from pathlib import Path

from awsdb import hookspecs
from awsdb._docs import render_reference

DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_reference_docs_do_not_drift() -> None:
    if not DOCS.exists():  # installed alone, outside the repository
        return
    for name, text in render_reference().items():
        assert (DOCS / name).read_text(encoding="utf-8") == text, (
            f"docs/{name} is stale: run `awsdb docs --write docs`"
        )


def test_every_hook_spec_has_a_docstring() -> None:
    specs = [f for f in vars(hookspecs).values() if hasattr(f, "awsdb_spec")]
    assert len(specs) >= 12
    for func in specs:
        assert inspect.getdoc(func), func.__name__
