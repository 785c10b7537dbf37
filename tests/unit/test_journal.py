"""The kiosk journal on real SQLite files."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from kiosk.clock import Clock
from kiosk.errors import JournalFull, JournalReadOnly, ReceiptMismatch
from kiosk.journal import HeadFile, Journal
from kiosk.signer import Signer
from records import chain, record
from records.record import parse_unverified
from tests.support.county import TestCounty
from tests.support.disk import small_tmpfs

DATA = {"pending": 0, "journal_bytes": 0}


@pytest.fixture
def signer(county: TestCounty) -> Signer:
    clock = Clock()
    return Signer(county.kiosk_key("k-test-1"), record.Origin("k-test-1", "v-test", 1, clock.bootid), clock)


def add(journal: Journal, signer: Signer, n: int = 1) -> list[record.Record]:
    return [journal.append(signer.maker("kiosk.checkpoint", DATA)) for _ in range(n)]


class TestAppend:
    def test_chain_positions_and_durability(self, tmp_path: Path, signer: Signer) -> None:
        """Appended records are chained and still there after reopening."""
        j = Journal.open(tmp_path / "j.sqlite3")
        recs = add(j, signer, 5)
        j.close()
        j = Journal.open(tmp_path / "j.sqlite3")
        tokens = j.records_between(recs[0].epoch, 1, 5)
        assert [r.token for r in recs] == tokens
        assert chain.verify_chain(parse_unverified(t) for t in tokens).ok
        assert (recs[0].epoch, 5, recs[-1].hash) == (j.epoch, j.seq, j.head)

    def test_wal_and_full_sync(self, tmp_path: Path) -> None:
        j = Journal.open(tmp_path / "j.sqlite3")
        assert "wal" == j.conn.execute("PRAGMA journal_mode").fetchone()[0]
        assert 2 == j.conn.execute("PRAGMA synchronous").fetchone()[0]  # FULL

    def test_failed_transaction_leaves_no_trace(self, tmp_path: Path, signer: Signer) -> None:
        """A failure inside the transaction rolls back the record and the chain position."""
        j = Journal.open(tmp_path / "j.sqlite3")
        add(j, signer, 2)
        with pytest.raises(RuntimeError), j.transaction() as tx:
            tx.append(signer.maker("kiosk.checkpoint", DATA))
            raise RuntimeError("power cut in the middle")
        assert (2, 2) == (j.seq, j.stats().pending)
        third = add(j, signer)[0]
        assert 3 == third.seq

    def test_grouped_commit(self, tmp_path: Path, signer: Signer) -> None:
        j = Journal.open(tmp_path / "j.sqlite3")
        recs = j.append_many([signer.maker("kiosk.checkpoint", DATA) for _ in range(50)])
        assert list(range(1, 51)) == [r.seq for r in recs]


class TestOutbox:
    def test_pending_in_order_and_settle(self, tmp_path: Path, signer: Signer) -> None:
        j = Journal.open(tmp_path / "j.sqlite3")
        recs = add(j, signer, 6)
        assert [1, 2, 3, 4, 5, 6] == [p.seq for p in j.pending(10)]
        assert [4, 5] == [p.seq for p in j.pending(2, after=(j.epoch, 3))]
        assert 3 == j.settle(j.epoch, 3, recs[2].hash)
        assert [4, 5, 6] == [p.seq for p in j.pending(10)]

    def test_largest_upto_wins(self, tmp_path: Path, signer: Signer) -> None:
        """Receipts from several gateway workers may arrive out of order."""
        j = Journal.open(tmp_path / "j.sqlite3")
        recs = add(j, signer, 6)
        j.settle(j.epoch, 5, recs[4].hash)
        j.settle(j.epoch, 2, recs[1].hash)
        assert [6] == [p.seq for p in j.pending(10)]
        assert 5 == HeadFile.read(j.head_file).upto

    def test_rejected_move_to_a_kept_table(self, tmp_path: Path, signer: Signer) -> None:
        j = Journal.open(tmp_path / "j.sqlite3")
        recs = add(j, signer, 3)
        j.settle(j.epoch, 3, recs[2].hash, rejected=[(2, "bad-schema")])
        assert 0 == j.stats().pending
        row = j.conn.execute("SELECT seq, reason, token FROM rejected").fetchone()
        assert (2, "bad-schema", recs[1].token) == row
        assert 1 == j.stats().rejected

    def test_prune_keeps_unsettled_and_the_chain_position(self, tmp_path: Path, signer: Signer) -> None:
        j = Journal.open(tmp_path / "j.sqlite3")
        recs = add(j, signer, 4)
        j.settle(j.epoch, 2, recs[1].hash)
        far_future = 10**13
        assert 2 == j.prune(far_future, retention_days=1)
        assert [3, 4] == [p.seq for p in j.pending(10)]
        assert 5 == add(j, signer)[0].seq


class TestReceipts:
    """Contract 1.1: a receipt settles only when its head is the hash of the kiosk's own record."""

    def test_a_receipt_whose_head_differs_settles_nothing(self, tmp_path: Path, signer: Signer) -> None:
        j = Journal.open(tmp_path / "j.sqlite3")
        recs = add(j, signer, 3)
        with pytest.raises(ReceiptMismatch):
            j.settle(j.epoch, 3, recs[1].hash, rejected=[(2, "bad-signature")])
        assert (3, 0) == (j.stats().pending, j.stats().rejected)  # nothing settled, nothing moved

    def test_a_receipt_beyond_what_the_kiosk_made_settles_nothing(self, tmp_path: Path, signer: Signer) -> None:
        j = Journal.open(tmp_path / "j.sqlite3")
        add(j, signer, 3)
        with pytest.raises(ReceiptMismatch):
            j.settle(j.epoch, 40, "AAAA")
        assert 3 == j.stats().pending

    def test_rejected_above_upto_are_not_moved(self, tmp_path: Path, signer: Signer) -> None:
        j = Journal.open(tmp_path / "j.sqlite3")
        recs = add(j, signer, 3)
        assert 1 == j.settle(j.epoch, 1, recs[0].hash, rejected=[(3, "fork")])
        assert (2, 0) == (j.stats().pending, j.stats().rejected)

    def test_an_answer_with_upto_zero_is_harmless(self, tmp_path: Path, signer: Signer) -> None:
        j = Journal.open(tmp_path / "j.sqlite3")
        add(j, signer, 2)
        assert 0 == j.settle(j.epoch, 0, "")
        assert 2 == j.stats().pending

    def test_every_new_journal_takes_a_fresh_epoch(self, tmp_path: Path) -> None:
        """A replaced storage card (journal and head file gone) never reuses an epoch."""
        epochs = set()
        for n in range(20):
            j = Journal.open(tmp_path / f"j{n}.sqlite3")
            epochs.add(j.epoch)
            j.close()
        assert 20 == len(epochs)


class TestLimits:
    def test_full_journal_refuses_new_records_and_keeps_old(self, tmp_path: Path, signer: Signer) -> None:
        j = Journal.open(tmp_path / "j.sqlite3", max_bytes=10**9)
        add(j, signer, 3)
        j.max_bytes = j.size()  # now it is full
        with pytest.raises(JournalFull) as err:
            add(j, signer)
        assert "不会" in err.value.zh or "paused" in err.value.en
        assert 3 == j.stats().pending
        assert j.stats().full

    def test_read_only_database(self, tmp_path: Path, signer: Signer) -> None:
        """A journal that can only be read (a read-only mount) refuses with a clear error."""
        j = Journal.open(tmp_path / "j.sqlite3")
        add(j, signer)
        j.conn.execute("PRAGMA query_only = ON")  # what SQLite reports on a read-only mount
        with pytest.raises(JournalReadOnly) as err:
            add(j, signer)
        assert "read-only" in err.value.en
        assert 1 == j.seq


class TestQuarantine:
    def test_corrupt_file_is_kept_and_a_new_epoch_links_to_the_last_receipt(
        self, tmp_path: Path, signer: Signer
    ) -> None:
        path = tmp_path / "j.sqlite3"
        j = Journal.open(path)
        recs = add(j, signer, 4)
        j.settle(j.epoch, 3, recs[2].hash)
        old_epoch = j.epoch
        j.close()
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        data = bytearray(path.read_bytes())
        data[100:4096] = os.urandom(3996)  # garbage over the schema page
        path.write_bytes(bytes(data))
        j = Journal.open(path)
        kept = list(tmp_path.glob("j.sqlite3.corrupt-*"))
        assert 1 == len([k for k in kept if not str(k).endswith(("-wal", "-shm"))])
        assert (0, recs[2].hash) == (j.seq, j.head)
        assert old_epoch != j.epoch  # a fresh epoch, never the one before
        first = add(j, signer)[0]
        assert (j.epoch, 1, recs[2].hash) == (first.epoch, first.seq, first.prev)

    def test_not_a_database_at_all(self, tmp_path: Path, signer: Signer) -> None:
        path = tmp_path / "j.sqlite3"
        path.write_bytes(b"this is not sqlite" * 100)
        j = Journal.open(path)
        assert 1 <= j.epoch < 2**31  # no head file: nothing was ever settled
        assert ("", 1) == (add(j, signer)[0].prev, j.seq)
        assert list(tmp_path.glob("j.sqlite3.corrupt-*"))

    def test_migrations_are_recorded(self, tmp_path: Path) -> None:
        j = Journal.open(tmp_path / "j.sqlite3")
        names = [r[0] for r in j.conn.execute("SELECT name FROM migrations ORDER BY name")]
        assert ["0001-records", "0002-agent-state", "0003-staff-lockout", "0101-programme-sessions",
                "0110-consents"] == names
        j.close()
        conn = sqlite3.connect(tmp_path / "j.sqlite3")
        assert "ok" == conn.execute("PRAGMA quick_check").fetchone()[0]


@pytest.fixture
def small_disk(tmp_path: Path):
    """A real 1 MiB file system (tmpfs), to fill up for real."""
    with small_tmpfs(tmp_path / "small", "1m") as mount:
        yield mount


def test_full_disk_refuses_loudly_and_keeps_every_record(small_disk: Path, signer: Signer) -> None:
    """On a really full disk the journal says so, and every committed record is still there."""
    j = Journal.open(small_disk / "j.sqlite3", max_bytes=10**9)
    committed = []
    with pytest.raises(JournalFull) as err:
        for _ in range(100_000):
            committed.append(j.append(signer.maker("kiosk.checkpoint", {"pending": 0, "journal_bytes": 10**6})))
    assert "disk is full" in err.value.en
    assert len(committed) >= 1
    tokens = j.records_between(j.epoch, 1, len(committed))
    assert [r.token for r in committed] == tokens
    assert None is j.quick_check()
