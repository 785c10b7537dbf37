"""Several processes open a new store at the same moment (the gateway starting while a report
or a test reads the store): every one of them opens it, and each migration is applied once."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from gateway.store import SCHEMA, Store
from tests.support.postgres import database, open_unpartitioned


def open_together(url: str, n: int = 8) -> list[BaseException]:
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []
    stores: list[Store] = []

    def opener() -> None:
        barrier.wait()
        try:
            stores.append(Store.open(url))
        except BaseException as err:  # noqa: BLE001 - collected for the assertion
            errors.append(err)

    threads = [threading.Thread(target=opener) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if stores:
        applied = stores[0].query("SELECT name FROM migrations ORDER BY name")
        assert [r[0] for r in applied] == [name for name, _ in SCHEMA]
    for s in stores:
        s.close()
    return errors


@pytest.mark.parametrize("round_", range(20))
def test_new_sqlite_store_opened_by_many_at_once(tmp_path: Path, round_: int) -> None:
    assert open_together(f"sqlite:///{tmp_path / f'gateway-{round_}.sqlite3'}") == []


def test_new_postgres_store_opened_by_many_at_once() -> None:
    with database() as url:
        assert open_together(url) == []


def test_populated_postgres_store_converted_once_by_many_at_once() -> None:
    """Migration 0010 (records by month) copies the table: run by several openers at once it
    still runs once, under the migrations' advisory lock, and keeps every row."""
    with database() as url:
        old = open_unpartitioned(url)
        with old.tx() as tx:
            tx.insert_records([("k-1", 1, seq, f"id-{seq}", "kiosk.checkpoint", "v", "t", f"h{seq}", "", "tok", "",
                                1_790_000_000_000 + seq * 86_400_000) for seq in range(1, 101)])
        old.close()
        assert open_together(url) == []
        with psycopg.connect(url) as conn:
            assert (100, 100, "p") == conn.execute(
                "SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM record_keys), "
                "(SELECT relkind::text FROM pg_class WHERE relname = 'records')").fetchone()
