"""The relay's per-batch queries read what they need by index, never every record: with a
store of years of records, a batch must cost what its own records cost (the relay slowed from
0.58× to 0.39× of a raw POST between a fresh store and one of 40,000 records before this).
Asserted on SQLite's query plans — deterministic, no timing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gateway.corrections import load_ledger
from gateway.store import Store


@pytest.fixture
def store(tmp_path: Path):
    store = Store.open(f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
    yield store
    store.close()


def plans(store: Store, call) -> list[str]:
    """The query plan of every statement ``call`` runs (the statements traced with their values)."""
    conn: sqlite3.Connection = store.conn
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        call()
    finally:
        conn.set_trace_callback(None)
    out = []
    for sql in seen:
        if sql.lstrip().upper().startswith("SELECT"):
            out.append(" | ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)))
    assert out, "nothing was traced"
    return out


def reads_every_record(plan: str) -> bool:
    """A scan of the records table, or of a full index of it (the partial index of corrections
    holds only corrections: scanning it is the point)."""
    return any(step.strip().startswith("SCAN records") and "records_corrections" not in step
               for step in plan.split("|"))


def test_the_next_batch_is_read_in_order_by_index_without_sorting(store: Store) -> None:
    (plan,) = plans(store, lambda: store.records_in_commit_order((0, 12_345), 100))
    assert "records_commit_order" in plan and not reads_every_record(plan), plan
    # the cursor bounds the search: not every row of its transaction (on SQLite: every row) read again
    assert "SEARCH records USING INDEX records_commit_order (txid=? AND rowid_>?)" in plan, plan
    steps = [step.strip() for step in plan.split("|")]
    # a sort only over one limited range's rows (at most a batch), never over all after the cursor
    sorted_after = [steps[i - 1] for i, step in enumerate(steps) if "TEMP B-TREE" in step]
    assert all(step in ("SCAN same_tx", "SCAN later_tx") for step in sorted_after), plan


def test_corrections_and_released_records_are_found_without_reading_every_record(store: Store) -> None:
    for plan in plans(store, lambda: load_ledger(store, lambda _kiosk: None)):
        assert not reads_every_record(plan), plan
    for plan in plans(store, lambda: store.released_behind((0, 12_345))):
        assert not reads_every_record(plan), plan

