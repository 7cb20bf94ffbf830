"""The ``awsdb`` command line.

Built-in commands: ``plugins`` (installed plugin codes), ``props [CODE]`` (connection
properties), ``docs`` (the generated references) and ``check DSN`` (connect through awsdb
and show the detected dialect and the cluster topology, :mod:`awsdb.cli._check`). Other
distributions add commands through the ``awsdb.cli`` entry-point group: each entry point is
a callable ``register(subparsers)`` that adds a sub-parser and sets
``func=<callable(args) -> int>`` with ``set_defaults``.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import logging
import sys
from collections.abc import Sequence

from awsdb.cli._check import add_check_parser
from awsdb.cli._render import print_table

__all__ = ["CLI_ENTRY_POINT_GROUP", "build_parser", "main"]

CLI_ENTRY_POINT_GROUP = "awsdb.cli"


def _cmd_plugins(args: argparse.Namespace) -> int:
    from awsdb._service import get_services

    infos = get_services().plugins.describe(load=True)
    rows = [
        [
            i.code,
            i.distribution,
            i.version,
            "relative" if i.weight is None else str(i.weight),
            ", ".join(i.aliases),
            "*" if len(i.methods) > 30 else ", ".join(sorted(i.methods)) or "-",
        ]
        for i in infos
    ]
    print_table(
        "awsdb plugins",
        ["code", "distribution", "version", "weight", "aliases", "subscribed methods"],
        rows,
    )
    return 0


def _cmd_props(args: argparse.Namespace) -> int:
    from awsdb._service import get_services

    services = get_services()
    services.plugins.load_all()
    registry = services.properties
    props = sorted(registry, key=lambda p: (p.owner, p.name))
    if args.code:
        code = services.plugins.canonical(args.code)
        props = [p for p in props if p.owner in (args.code, code)]
        if not props:
            print(f"no properties are owned by {args.code!r}", file=sys.stderr)
            return 2
    rows = [
        [
            p.name,
            p.owner,
            getattr(p.type, "__name__", str(p.type)),
            "***" if p.secret and p.default is not None else repr(p.default),
            ", ".join(p.choices) if p.choices else "",
            p.description,
        ]
        for p in props
    ]
    print_table(
        "awsdb properties",
        ["name", "owner", "type", "default", "allowed", "description"],
        rows,
    )
    return 0


def _cmd_docs(args: argparse.Namespace) -> int:
    from pathlib import Path

    from awsdb._docs import render_reference, write_reference

    directory = Path(args.directory)
    if args.check:
        stale = [
            name
            for name, text in render_reference().items()
            if not (directory / name).exists()
            or (directory / name).read_text(encoding="utf-8") != text
        ]
        for name in stale:
            print(f"{directory / name} is out of date: run awsdb docs --write {directory}")
        return 1 if stale else 0
    for path in write_reference(directory):
        print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with built-in and entry-point commands."""
    parser = argparse.ArgumentParser(prog="awsdb", description="awsdb command line")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("plugins", help="list installed plugin codes")
    p.set_defaults(func=_cmd_plugins)
    p = sub.add_parser("props", help="list connection properties (of one plugin code)")
    p.add_argument("code", nargs="?", help="only properties owned by this plugin code")
    p.set_defaults(func=_cmd_props)
    p = sub.add_parser("docs", help="generate the plugin and property references")
    p.add_argument("--write", dest="directory", default="docs", help="output directory")
    p.add_argument("--check", action="store_true", help="fail if the files are out of date")
    p.set_defaults(func=_cmd_docs)
    add_check_parser(sub)
    for ep in md.entry_points(group=CLI_ENTRY_POINT_GROUP):
        try:
            register = ep.load()
            register(sub)
        except Exception as exc:  # one broken extension must not break the command
            print(f"awsdb: command {ep.name!r} failed to load: {exc}", file=sys.stderr)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    finally:
        from awsdb._service import release_resources

        release_resources()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
