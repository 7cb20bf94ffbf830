"""Paired-block timing (and a no-I/O driver cursor) shared by the overhead benchmarks.

Raw driver and awsdb run in alternating blocks on the same backend (the order flips every
pair), so a slow drift of a busy machine hits both sides alike; a figure is the median of
the per-pair ratios. Besides wall time, the client thread's CPU time is reported: it is
what the wrapper adds and is far less sensitive to the server being scheduled late.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["NullCursor", "block", "paired"]


def block(fn: Callable[[], None], n: int) -> tuple[float, float]:
    """Wall and this thread's CPU time per call of ``fn`` over ``n`` calls, in µs."""
    gc.disable()
    cpu0 = time.thread_time_ns()
    start = time.perf_counter_ns()
    for _ in range(n):
        fn()
    elapsed = time.perf_counter_ns() - start
    cpu = time.thread_time_ns() - cpu0
    gc.enable()
    return elapsed / n / 1000, cpu / n / 1000


def paired(
    raw: Callable[[], None], wrapped: Callable[[], None], pairs: int, per_block: int
) -> dict[str, float]:
    """Medians of ``pairs`` alternating blocks of ``raw`` and ``wrapped``, and their ratios."""
    for _ in range(300):
        raw()
        wrapped()
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    cpu_added: list[float] = []
    raw_us: list[float] = []
    awsdb_us: list[float] = []
    for i in range(pairs):
        if i % 2:
            a, a_cpu = block(wrapped, per_block)
            r, r_cpu = block(raw, per_block)
        else:
            r, r_cpu = block(raw, per_block)
            a, a_cpu = block(wrapped, per_block)
        raw_us.append(r)
        awsdb_us.append(a)
        ratios.append(a / r)
        cpu_ratios.append(a_cpu / r_cpu)
        cpu_added.append(a_cpu - r_cpu)
    quart = statistics.quantiles(ratios, n=4)
    return {
        "raw_us": statistics.median(raw_us),
        "awsdb_us": statistics.median(awsdb_us),
        "ratio": statistics.median(ratios),
        "ratio_p25": quart[0],
        "ratio_p75": quart[2],
        "cpu_ratio": statistics.median(cpu_ratios),
        "cpu_added_us": statistics.median(cpu_added),
    }


class NullCursor:
    """A driver cursor that does no I/O: isolates the wrapper's own cost per statement."""

    def execute(self, query: Any, params: Any = None) -> NullCursor:
        return self

    def fetchall(self) -> list[tuple[int]]:
        return [(1,)]

    def fetchone(self) -> tuple[int]:
        return (1,)

    def fetchmany(self, size: int = 1) -> list[tuple[int]]:
        return [(1,)]

    def close(self) -> None:
        return None
