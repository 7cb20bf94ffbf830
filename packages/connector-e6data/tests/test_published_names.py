"""Names of the published client that the connector also offers: ``Cursor.metadata`` and
``timeout=`` on ``clear``/``close``."""

from __future__ import annotations

from typing import Any

from awsdb_e6data.engine import Engine


def test_metadata_is_the_current_querys_headers(engine: Engine, connect: Any) -> None:
    cur = connect(engine, cluster_name="Prod").cursor()
    assert cur.metadata == [("cluster-name", "prod")]  # nothing known yet, nothing sent
    assert engine.control.calls_of() == []
    engine.control.set(cluster_name="prod")
    cur.execute("SELECT * FROM range(10)")
    assert cur.metadata == [
        ("plannerip", "127.0.0.1"),
        ("cluster-name", "prod"),
        ("strategy", "blue"),
    ]
    # The headers are those the engine received for this query.
    fetch = engine.control.calls_of("getResultMetadata")[-1].headers
    assert [(k, fetch[k]) for k, _ in cur.metadata] == cur.metadata
    cur.fetchall()
    assert cur.metadata == [("cluster-name", "prod"), ("strategy", "blue")]


def test_clear_and_close_take_a_timeout(engine: Engine, connect: Any) -> None:
    conn = connect(engine, clear_timeout=100)
    cur = conn.cursor()
    cur.execute("SELECT * FROM range(10)")
    cur.clear(timeout=10)
    cur.execute("SELECT * FROM range(10)")
    cur.clear()
    cur.execute("SELECT * FROM range(10)")
    cur.close(timeout=1000)
    deadlines = [c.deadline for c in engine.control.calls_of("clearOrCancelQuery")]
    assert len(deadlines) == 3 and all(d is not None for d in deadlines)
    first, second, third = (d or 0.0 for d in deadlines)
    # Deadlines an order of magnitude apart, each seen by the engine (with transit slack).
    assert 5 < first < 15 and 50 < second < 150 and 500 < third < 1500
    assert engine.service.query_count() == 0


def test_clear_by_id_takes_a_timeout(engine: Engine, connect: Any) -> None:
    conn = connect(engine)
    cur = conn.cursor()
    qid = cur.execute("SELECT * FROM range(10)")
    other = conn.cursor()
    other.clear(qid, timeout=10)  # a query in flight on this connection: its own colour
    conn.clear("unknown-query", timeout=1000)  # not in flight here: a session-bearing call
    clears = engine.control.calls_of("clear")
    assert [c.query_id for c in clears] == [qid, "unknown-query"]
    first, second = (c.deadline or 0.0 for c in clears)
    assert 5 < first < 15 and 500 < second < 1500
    assert engine.service.query_count() == 0
    cur.close()
