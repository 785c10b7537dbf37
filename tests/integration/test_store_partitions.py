"""The PostgreSQL store by month (migration 0010-records-by-month, gateway/partitions.py): an
existing store is converted with every record, id, chain position and commit order kept;
duplicates are refused after it as before; rows land in their month's partition (or in
records_default when it has none); concurrent writers store each record once."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import psycopg
import pytest

from gateway import partitions
from gateway.county_files import CountyFiles
from gateway.ingest import Ingest
from gateway.store import Store
from records import chain, record
from records.record import parse_unverified
from tests.support.county import TestCounty
from tests.support.gateway import NOW, KioskChain, payload
from tests.support.postgres import database, open_unpartitioned

DAY_MS = 86_400_000
NOW_MS = int(NOW.timestamp() * 1000)


def county_files(tmp_path: Path, county: TestCounty, kiosks: dict[str, str]) -> CountyFiles:
    (tmp_path / "registry.jws").write_text(county.registry(kiosks).token)
    files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": tmp_path / "registry.jws"})
    files.load(first=True)
    return files


def same_id_elsewhere(county: TestCounty, rec: record.Record, kiosk: str) -> record.Record:
    """A record of another kiosk, first of its chain, signed by it, carrying ``rec``'s id."""
    event = record.build(origin=record.Origin(kiosk, "v-test", 1, "b"), record_type="kiosk.checkpoint",
                         data={"pending": 0, "journal_bytes": 0}, record_id=uuid.UUID(rec.id), time=NOW,
                         mono_ns=1, clock="gateway", epoch=1, seq=1, prev="")
    return record.sign(event, county.kiosk_key(kiosk), f"{kiosk}/1")


def row(kiosk: str, seq: int, committed_ms: int, record_id: str | None = None) -> tuple:
    return (kiosk, 1, seq, record_id or str(uuid.uuid4()), "kiosk.checkpoint", "v-test", "t", f"h{seq}", "",
            f"token-{kiosk}-{seq}-{committed_ms}", "", committed_ms)


def where(store: Store) -> dict[str, str]:
    """token → the partition holding it."""
    return {t: p for t, p in store.query("SELECT token, tableoid::regclass::text FROM records")}


SNAPSHOT = "SELECT rowid_, txid, kiosk, epoch, seq, id, hash, prev, token, flags, committed_ms FROM records ORDER BY rowid_"


def test_a_populated_store_is_converted_with_everything_kept(tmp_path: Path, county: TestCounty) -> None:
    files = county_files(tmp_path, county, {"k-test-1": "v-test", "k-test-2": "v-test", "k-test-3": "v-test"})
    a, b = KioskChain(county, kiosk="k-test-1"), KioskChain(county, kiosk="k-test-2")
    recs_a, recs_b = a.many(30), b.many(10)
    with database() as url:
        old = open_unpartitioned(url)  # written by the LearnCard before migration 0010
        ingest = Ingest(old, files, lambda: NOW)
        ingest.handle("k-test-1", payload(recs_a[:20]))
        ingest.handle("k-test-2", payload(recs_b))
        ingest.handle("k-test-1", payload(recs_a[25:]))  # a gap: 21..25 missing, above it stored
        with old.tx() as tx:  # records of earlier months, and one from before any partition
            tx.execute("UPDATE records SET committed_ms = committed_ms - 40 * ?::bigint WHERE kiosk = 'k-test-2'", (DAY_MS,))
            tx.execute("UPDATE records SET committed_ms = 1000 WHERE kiosk = 'k-test-1' AND seq = 1")
        before, chains = old.query(SNAPSHOT), old.query("SELECT * FROM chains ORDER BY kiosk, epoch")
        order = old.records_in_commit_order((0, 0), 1000)
        assert "p" != old.query("SELECT relkind FROM pg_class WHERE relname = 'records'")[0][0]
        old.close()

        store = Store.open(url)  # migration 0010
        try:
            assert "p" == store.query("SELECT relkind FROM pg_class WHERE relname = 'records'")[0][0]
            assert before == store.query(SNAPSHOT)
            assert chains == store.query("SELECT * FROM chains ORDER BY kiosk, epoch")
            assert order == store.records_in_commit_order((0, 0), 1000)
            assert sorted((r[5], r[2], r[3], r[4]) for r in before) == sorted(
                store.query("SELECT id, kiosk, epoch, seq FROM record_keys"))
            # each in its month: the 1970 record made a partition of its own
            months = {t: partitions.name(*partitions.month_of(ms)) for *_, t, _, ms in before}
            assert months == where(store)
            assert "records_1970_01" in months.values()

            again = Ingest(store, files, lambda: NOW)
            resent = again.handle("k-test-1", payload(recs_a[:20]))
            assert (0, 20) == (resent.stored, resent.duplicates)
            dup = again.handle("k-test-3", payload([same_id_elsewhere(county, recs_a[0], "k-test-3")]))
            assert {"duplicate-id": 1} == dup.rejected
            with pytest.raises(psycopg.errors.UniqueViolation), store.tx() as tx:  # an id stored last month
                tx.insert_records([row("k-test-9", 1, NOW_MS, recs_b[0].id)])
            with pytest.raises(psycopg.errors.UniqueViolation), store.tx() as tx:  # a taken position
                tx.insert_records([row("k-test-2", 3, NOW_MS)])
            closing = again.handle("k-test-1", payload(recs_a[20:25]))
            assert (30, []) == (closing.receipts[0]["upto"], closing.receipts[0]["missing"])
            assert [r.token for r in recs_a] == store.tokens("k-test-1")
            assert max(r[0] for r in before) < store.query("SELECT min(rowid_) FROM records WHERE seq BETWEEN 21 "
                                                           "AND 25 AND kiosk = 'k-test-1'")[0][0]
            assert chain.verify_chain(parse_unverified(t) for t in store.tokens("k-test-1")).ok
        finally:
            store.close()


def test_rows_land_in_their_month_or_in_default_until_it_is_made() -> None:
    with database() as url:
        store = Store.open(url)
        try:
            this, nxt, far = NOW_MS, NOW_MS + 31 * DAY_MS, NOW_MS + 150 * DAY_MS
            store.ensure_months(this)  # as the gateway did on NOW's day
            with store.tx() as tx:
                tx.insert_records([row("k-1", 1, this), row("k-1", 2, nxt), row("k-1", 3, far)])
            got = where(store)
            assert "records_2026_11" == got[f"token-k-1-1-{this}"]
            assert "records_2026_12" == got[f"token-k-1-2-{nxt}"]
            assert "records_default" == got[f"token-k-1-3-{far}"]  # no partition for April yet

            assert ["records_2027_04", "records_2027_05", "records_2027_06"] == store.ensure_months(far)
            assert "records_2027_04" == where(store)[f"token-k-1-3-{far}"]  # moved out of the default
            assert [] == store.query("SELECT 1 FROM records_default")
            assert [] == store.ensure_months(far)  # once
            assert [("k-1",)] * 3 == store.query("SELECT kiosk FROM record_keys")
            with pytest.raises(psycopg.errors.UniqueViolation), store.tx() as tx:  # one position across months
                tx.insert_records([row("k-1", 3, this)])
        finally:
            store.close()


def test_an_unseated_or_purged_record_gives_its_id_and_position_back() -> None:
    with database() as url:
        store = Store.open(url)
        try:
            with store.tx() as tx:
                tx.insert_records([row("k-1", 1, NOW_MS, "id-1"), row("k-1", 2, NOW_MS, "id-2")])
            with store.tx() as tx:
                tx.unseat("k-1", 1, 1, "fork")
                tx.execute("DELETE FROM records WHERE id = 'id-2'")  # as privacy.purge does (by rowid_)
            with store.tx() as tx:  # as before the partitions: both free again
                tx.insert_records([row("k-1", 1, NOW_MS, "id-2"), row("k-1", 2, NOW_MS, "id-1")])
            assert 2 == store.count() == store.query("SELECT count(*) FROM record_keys")[0][0]
        finally:
            store.close()


def test_concurrent_writers_store_each_record_once(tmp_path: Path, county: TestCounty) -> None:
    kiosks = {f"k-test-{i}": "v-test" for i in range(3)}
    files = county_files(tmp_path, county, kiosks)
    made = {k: KioskChain(county, kiosk=k).many(120) for k in kiosks}
    messages = [(k, payload(recs[i:i + 20])) for k, recs in made.items() for i in range(0, 120, 20)]
    with database() as url:
        stores = [Store.open(url) for _ in range(4)]
        try:
            # every worker gets every message (each in its own order): 4 copies of each record
            def work(store: Store, mine: list[tuple[str, bytes]]) -> None:
                ingest = Ingest(store, files, lambda: NOW)
                for kiosk, message in mine:
                    ingest.handle(kiosk, message)

            threads = [threading.Thread(target=work, args=(s, messages[i::1] if i % 2 else messages[::-1]))
                       for i, s in enumerate(stores)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            store = stores[0]
            assert 360 == store.count() == store.query("SELECT count(DISTINCT id) FROM records")[0][0]
            assert 360 == store.query("SELECT count(*) FROM record_keys")[0][0]
            for kiosk, recs in made.items():
                assert [r.token for r in recs] == store.tokens(kiosk)
            assert 360 == len(store.records_in_commit_order((0, 0), 1000))
        finally:
            for s in stores:
                s.close()


def test_two_kiosks_racing_for_one_id_in_different_months_store_it_once() -> None:
    """Different kiosks do not share the per-kiosk lock, and rows of different months go to
    different partitions: only record_keys stands between them and a second copy."""
    with database() as url:
        first, second = Store.open(url), Store.open(url)
        first.ensure_months(NOW_MS - 40 * DAY_MS)
        outcomes: list[str] = []

        def insert(store: Store, kiosk: str, ms: int) -> None:
            try:
                with store.tx() as tx:
                    tx.insert_records([row(kiosk, 1, ms, "the-id")])
                outcomes.append("stored")
            except psycopg.errors.UniqueViolation:
                outcomes.append("refused")

        try:
            with first.tx() as tx:  # the first holds its row, uncommitted, while the second tries
                tx.insert_records([row("k-a", 1, NOW_MS - 40 * DAY_MS, "the-id")])
                racer = threading.Thread(target=insert, args=(second, "k-b", NOW_MS))
                racer.start()
                racer.join(0.5)  # it waits on the first's key (or has not started yet)
            racer.join()
            assert ["refused"] == outcomes
            assert [("k-a", "records_2026_10")] == first.query(
                "SELECT kiosk, tableoid::regclass::text FROM records WHERE id = 'the-id'")
        finally:
            first.close()
            second.close()


def test_a_record_of_a_detached_month_sent_again_is_not_stored_twice(tmp_path: Path, county: TestCounty) -> None:
    """docs/scale.md: an old month detached (and archived) keeps its ids in record_keys."""
    files = county_files(tmp_path, county, {"k-test-1": "v-test"})
    recs = KioskChain(county).many(3)
    with database() as url:
        store = Store.open(url)
        try:
            ingest = Ingest(store, files, lambda: NOW)
            assert 2 == ingest.handle("k-test-1", payload(recs[:2])).stored
            store.ensure_months(NOW_MS - 400 * DAY_MS)
            with store.tx() as tx:  # as if stored 13 months ago
                tx.execute("UPDATE records SET committed_ms = ?::bigint WHERE seq = 1", (NOW_MS - 400 * DAY_MS,))
            with store.tx() as tx:
                tx.execute("ALTER TABLE records DETACH PARTITION records_2025_10")
            assert [recs[1].token] == store.tokens("k-test-1")
            again = ingest.handle("k-test-1", payload(recs))
            assert (1, {"duplicate-id": 1}) == (again.stored, again.rejected)
            assert [recs[1].token, recs[2].token] == store.tokens("k-test-1")
        finally:
            store.close()


def test_making_a_month_gives_up_behind_a_long_reader_and_inserts_go_on() -> None:
    """A long report holds records_default: making a partition must not wait behind it (every
    ingest would queue behind that wait); it gives up, and the next pass makes it."""
    far = NOW_MS + 150 * DAY_MS
    with database() as url:
        store, report = Store.open(url), Store.open(url)
        try:
            with report.tx() as reading:
                # if making the month waited for it, the server ends this reader after 30 s and
                # the month is made: the test fails instead of hanging
                reading.execute("SET LOCAL idle_in_transaction_session_timeout = '30s'")
                reading.execute("SELECT count(*) FROM records")  # holds every partition until it ends
                with pytest.raises(psycopg.errors.LockNotAvailable):
                    store.ensure_months(far)
                with store.tx() as tx:
                    tx.insert_records([row("k-1", 1, far)])
            assert "records_default" == where(store)[f"token-k-1-1-{far}"]
            assert "records_2027_04" in store.ensure_months(far)
            assert "records_2027_04" == where(store)[f"token-k-1-1-{far}"]
        finally:
            store.close()
            report.close()


def test_a_writer_that_knows_nothing_of_record_keys_is_held_to_them_too() -> None:
    """A gateway process of the previous release, still running during an upgrade, inserts
    into records alone: the triggers write its keys, and its duplicates fail as before."""
    plain = ("INSERT INTO records (kiosk, epoch, seq, id, type, venue, time, hash, prev, token, flags, committed_ms) "
             "VALUES (%s, 1, %s, %s, 't', 'v', 't', 'h', '', 'tok', '', %s)")
    with database() as url, psycopg.connect(url, autocommit=True) as old:
        Store.open(url).close()
        old.execute(plain, ("k-1", 1, "id-1", NOW_MS))
        assert [("id-1", "k-1", 1, 1)] == old.execute("SELECT * FROM record_keys").fetchall()
        with pytest.raises(psycopg.errors.UniqueViolation):
            old.execute(plain, ("k-2", 1, "id-1", NOW_MS - 40 * DAY_MS))  # the same id, another month
        with pytest.raises(psycopg.errors.UniqueViolation):
            old.execute(plain, ("k-1", 1, "id-2", NOW_MS + 40 * DAY_MS))  # the same position
        assert 1 == old.execute("SELECT count(*) FROM records").fetchone()[0]
