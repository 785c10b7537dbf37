"""The kiosk journal and the gateway store migrate forward from the previous schema on open,
keeping their data, and refuse, unchanged, a database written by a newer LearnCard."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from gateway import store as store_module
from gateway.errors import StoreError
from gateway.store import Store
from kiosk import journal as journal_module
from kiosk.errors import JournalError
from kiosk.journal import Journal


def previous_journal(path: Path) -> None:
    """A journal as the release before the last step made it (every step but the last)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_ms INTEGER)")
    for name, sql in journal_module.ALL_MIGRATIONS[:-1]:
        for statement in sql.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("INSERT INTO migrations VALUES (?, ?)", (name, int(time.time() * 1000)))
    conn.close()


def names(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY name")]
    finally:
        conn.close()


class TestJournal:
    def test_forward_from_the_previous_schema(self, tmp_path: Path) -> None:
        """Opening a previous-release journal applies the missing step and the journal works."""
        path = tmp_path / "journal.sqlite3"
        previous_journal(path)
        journal = Journal.open(path)
        try:
            assert journal.stats().pending == 0
        finally:
            journal.close()
        assert sorted(n for n, _ in journal_module.ALL_MIGRATIONS) == names(path)

    def test_a_newer_journal_is_refused_unchanged(self, tmp_path: Path) -> None:
        """A journal with a step this release does not know: refused, not quarantined, bytes unchanged."""
        path = tmp_path / "journal.sqlite3"
        Journal.open(path).close()
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("INSERT INTO migrations VALUES ('9999-from-the-future', 0)")
        conn.close()
        before = path.read_bytes()
        with pytest.raises(JournalError) as caught:
            Journal.open(path)
        assert "9999-from-the-future" in str(caught.value)
        assert before == path.read_bytes()
        assert [] == list(tmp_path.glob("*quarantine*")) + list(tmp_path.glob("*corrupt*"))


class TestStore:
    def test_forward_from_the_previous_schema(self, tmp_path: Path) -> None:
        """A store made by the previous release gets the missing step on open."""
        path = tmp_path / "gateway.sqlite3"
        last = store_module.SCHEMA[-1]
        store_module.SCHEMA.remove(last)
        try:
            Store.open(f"sqlite:///{path}").close()
        finally:
            store_module.SCHEMA.append(last)
        assert last[0] not in names(path)
        Store.open(f"sqlite:///{path}").close()
        assert last[0] in names(path)

    def test_a_newer_store_is_refused_unchanged(self, tmp_path: Path) -> None:
        """A store with a step this release does not know is refused with the step's name."""
        path = tmp_path / "gateway.sqlite3"
        Store.open(f"sqlite:///{path}").close()
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("INSERT INTO migrations VALUES ('9999-from-the-future', 0)")
        conn.close()
        with pytest.raises(StoreError) as caught:
            Store.open(f"sqlite:///{path}")
        assert "9999-from-the-future" in str(caught.value)
        assert "9999-from-the-future" in names(path)
