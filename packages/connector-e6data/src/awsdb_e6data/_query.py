"""The handle of one admitted query: everything a query-bound RPC must carry."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

__all__ = ["QueryHandle"]

_ids = itertools.count(1)


@dataclass(eq=False, slots=True)
class QueryHandle:
    """A prepared query: its id, the planner it lives on, and its own colour and session."""

    query_id: str
    engine_ip: str
    colour: str | None
    session_id: str
    token: int = field(default_factory=lambda: next(_ids))
    done: bool = False
