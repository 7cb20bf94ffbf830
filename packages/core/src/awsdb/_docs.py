"""Reference documentation generated from the code (hook specs, plugins, properties).

``awsdb docs --write DIR`` writes ``plugins.md`` and ``properties.md``; a test fails when the
checked-in files drift from what the code generates.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from awsdb import hookspecs
from awsdb._registry import ANCHOR_ALIASES, FIRST_PARTY_CODES

__all__ = ["render_plugins_markdown", "render_reference", "write_reference"]

_REGISTRATION = (
    "awsdb_plugin_specs",
    "awsdb_properties",
    "awsdb_database_dialects",
    "awsdb_driver_dialects",
)


def _spec_section(name: str) -> str:
    func = getattr(hookspecs, name)
    sig = str(inspect.signature(func)).replace("'", "")
    doc = inspect.cleandoc(func.__doc__ or "")
    marker = getattr(func, hookspecs.PROJECT + "_spec", {}) or {}
    first = " (first result wins)" if marker.get("firstresult") else ""
    return f"### `{name}{sig}`{first}\n\n{doc}\n"


def render_plugins_markdown() -> str:
    """The plugin reference: hook specs, first-party codes and the built-in plugins."""
    from awsdb.plugins import connect_time, dev, execute_time

    out = [
        "# Plugin reference",
        "",
        "Generated from the code by `awsdb docs --write docs`; do not edit by hand.",
        "",
        "## Plugin codes",
        "",
        "| code | distribution | AWS wrapper aliases |",
        "|---|---|---|",
    ]
    for code, dist in FIRST_PARTY_CODES.items():
        aliases = ", ".join(f"`{a}`" for a, c in ANCHOR_ALIASES.items() if c == code)
        out.append(f"| `{code}` | `{dist}` | {aliases} |")
    out += ["", "## Built-in plugins of awsdb-core", ""]
    for module in (execute_time, connect_time, dev):
        for spec in module.awsdb_plugin_specs():
            weight = "relative" if spec.weight is None else str(spec.weight)
            methods = spec.methods()
            subs = "all DB-API methods" if len(methods) > 30 else ", ".join(sorted(methods))
            extra = " and connect" if "connect" in methods and len(methods) > 30 else ""
            out += [
                f"### `{spec.code}`",
                "",
                spec.description,
                "",
                f"- weight: {weight}",
                f"- subscribed: {subs}{extra}",
                "",
            ]
    out += ["## Registration hooks", ""]
    out += [_spec_section(n) for n in _REGISTRATION]
    out += ["## Connection hooks", ""]
    names = [
        n
        for n, f in vars(hookspecs).items()
        if callable(f) and hasattr(f, hookspecs.PROJECT + "_spec") and n not in _REGISTRATION
    ]
    out += [_spec_section(n) for n in names]
    return "\n".join(out).rstrip() + "\n"


def render_reference() -> dict[str, str]:
    """File name → content of every generated reference document."""
    from awsdb._catalog import render_properties_markdown
    from awsdb.properties import default_registry

    return {
        "plugins.md": render_plugins_markdown(),
        "properties.md": render_properties_markdown(default_registry()),
    }


def write_reference(directory: Path) -> list[Path]:
    """Write the reference documents into ``directory``; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_reference().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
