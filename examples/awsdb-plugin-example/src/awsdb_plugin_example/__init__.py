"""Example third-party awsdb plugin: tags statements with a SQL comment and counts them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from awsdb import Plugin, PluginSpec, hookimpl
from awsdb.properties import Property

__all__ = ["StatementTagPlugin"]

TAG = Property(
    name="statement_tag",
    type=str,
    default="awsdb",
    description="Text of the SQL comment prefixed to every statement.",
    owner="statement_tag",
)


class StatementTagPlugin(Plugin):
    """Prefixes ``/* <tag> */`` to each ``Cursor.execute`` statement."""

    subscribed_methods: ClassVar[frozenset[str]] = frozenset({"Cursor.execute"})

    def __init__(self, service: Any, props: Any) -> None:
        super().__init__(service, props)
        self.tag = str(props.get(TAG))
        self.tagged = 0

    @hookimpl
    def execute(
        self,
        target: Any,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        call_next: Callable[..., Any],
    ) -> Any:
        """Tag the statement, then run it."""
        query, *rest = args
        self.tagged += 1
        return call_next(f"/* {self.tag} */ {query}", *rest, **kwargs)


@hookimpl
def awsdb_plugin_specs() -> Sequence[PluginSpec]:
    """Announce the ``statement_tag`` code."""
    return [
        PluginSpec(
            code="statement_tag",
            factory=StatementTagPlugin,
            weight=1200,
            description="Tags statements with a SQL comment (example plugin).",
        )
    ]


@hookimpl
def awsdb_properties() -> Sequence[Property[Any]]:
    """Announce the ``statement_tag`` property."""
    return [TAG]
