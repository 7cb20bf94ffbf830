"""A durability workload for failover: writer threads, and the verdict on what survived.

Each :class:`DurableWriter` has its own awsdb connection and commits transactions of one or
two rows with unique ids into a table ``dur (id bigint PRIMARY KEY, w int NOT NULL)``,
recording what it was told about each transaction:

- ``acked``: ``commit()`` returned — every row must survive;
- ``failed``: a failover error was raised by a statement before the commit (the transaction
  was rolled back) — no row may survive;
- ``ambiguous``: ``commit()`` raised — either outcome is allowed, all or nothing; an error
  other than ``TransactionResolutionUnknownError`` is also kept in ``wrong_commit_errors``.

:func:`tally` compares that with the ids present on the final writer. The failover tests and
``benchmarks/failover_durability.py`` share it, so both judge by the same rules.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import awsdb

__all__ = ["DURABLE_TABLE", "DurableWriter", "Tally", "tally", "wait_progress"]

DURABLE_TABLE = "CREATE TABLE dur (id bigint PRIMARY KEY, w int NOT NULL)"
_ID_STRIDE = 10_000_000  # writer i uses ids i * stride + n

Ids = tuple[int, ...]


class DurableWriter:
    """One awsdb connection committing one- and two-row transactions until stopped."""

    def __init__(self, index: int, connect: Callable[[], Any]) -> None:
        self.index = index
        self._connect = connect
        self.acked: list[tuple[float, str, Ids]] = []  # (monotonic ack time, host, ids)
        self.failed: list[Ids] = []
        self.ambiguous: list[Ids] = []
        self.wrong_commit_errors: list[str] = []
        self.other_errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"durable-writer-{index}")

    def start(self) -> None:
        """Start committing on a thread of its own."""
        self._thread.start()

    def stop(self) -> None:
        """Stop and join; ``RuntimeError`` if the thread does not end within 120 s."""
        self._stop.set()
        self._thread.join(120)
        if self._thread.is_alive():
            raise RuntimeError(f"writer {self.index} did not stop")

    def _run(self) -> None:
        conn = self._connect()
        n = 0
        try:
            while not self._stop.is_set():
                n += 2
                base = self.index * _ID_STRIDE + n
                ids = (base,) if n % 4 else (base, base + 1)
                try:
                    for i in ids:
                        conn.execute("INSERT INTO dur (id, w) VALUES (%s, %s)", (i, self.index))
                except (awsdb.FailoverSuccessError, awsdb.TransactionResolutionUnknownError):
                    self.failed.append(ids)  # rolled back; the connection is on the new writer
                    continue
                except awsdb.Error as exc:
                    self.other_errors.append(f"execute: {type(exc).__name__}: {exc}")
                    self.failed.append(ids)
                    time.sleep(0.05)
                    continue
                try:
                    conn.commit()
                except awsdb.TransactionResolutionUnknownError:
                    self.ambiguous.append(ids)
                    continue
                except Exception as exc:
                    self.wrong_commit_errors.append(f"{type(exc).__name__}: {exc}")
                    self.ambiguous.append(ids)
                    time.sleep(0.05)
                    continue
                host = conn.plugin_service.current_host
                self.acked.append((time.monotonic(), host.host if host else "", ids))
        finally:
            conn.close()


def wait_progress(
    writers: Sequence[DurableWriter], since: Sequence[int], host: str | None, timeout: float
) -> None:
    """Until every writer acknowledged a commit after index ``since`` (on ``host`` if given);
    ``TimeoutError`` naming each writer's count and last errors otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(
            any(host is None or h == host for _, h, _ in w.acked[s:])
            for w, s in zip(writers, since, strict=True)
        ):
            return
        time.sleep(0.02)
    raise TimeoutError(
        f"writers made no progress on {host}: "
        + ", ".join(f"{w.index}: {len(w.acked)}" for w in writers)
        + f"; errors {[w.other_errors[-3:] for w in writers]}"
    )


@dataclass
class Tally:
    """The verdict: each list holds the transactions (row ids) in that class."""

    acked: list[Ids] = field(default_factory=list)
    failed: list[Ids] = field(default_factory=list)
    ambiguous: list[Ids] = field(default_factory=list)
    lost: list[Ids] = field(default_factory=list)  # acknowledged, not all present
    phantom: list[Ids] = field(default_factory=list)  # told failed, some row present
    torn: list[Ids] = field(default_factory=list)  # ambiguous, partly present
    ambiguous_present: int = 0
    wrong_commit_errors: list[str] = field(default_factory=list)
    other_errors: list[str] = field(default_factory=list)


def tally(writers: Sequence[DurableWriter], present: Collection[int]) -> Tally:
    """Judge what ``writers`` were told against the ids ``present`` on the final writer."""
    out = Tally()
    for w in writers:
        out.acked.extend(ids for _, _, ids in w.acked)
        out.failed.extend(w.failed)
        out.ambiguous.extend(w.ambiguous)
        out.wrong_commit_errors.extend(w.wrong_commit_errors)
        out.other_errors.extend(w.other_errors)
    out.lost = [t for t in out.acked if not all(i in present for i in t)]
    out.phantom = [t for t in out.failed if any(i in present for i in t)]
    out.torn = [t for t in out.ambiguous if 0 < sum(i in present for i in t) < len(t)]
    out.ambiguous_present = sum(all(i in present for i in t) for t in out.ambiguous)
    return out
