"""The same ingest on the PostgreSQL store (the scale-out store): two gateway workers
share it and the chain still holds."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from gateway.county_files import CountyFiles
from gateway.ingest import Ingest
from gateway.store import Store
from records import chain
from records.record import parse_unverified
from tests.support.county import TestCounty
from tests.support.gateway import NOW, KioskChain, payload
from tests.support.postgres import database


def test_two_workers_share_one_postgres_store(tmp_path: Path, county: TestCounty) -> None:
    (tmp_path / "registry.jws").write_text(county.registry({"k-test-1": "v-test"}).token)
    files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": tmp_path / "registry.jws"})
    files.load(first=True)
    k = KioskChain(county)
    recs = k.many(400)
    batches = [recs[i:i + 20] for i in range(0, 400, 20)]
    with database() as url:
        workers = [Ingest(Store.open(url), files, lambda: NOW) for _ in range(2)]
        receipts: list[dict] = []

        def work(ingest: Ingest, mine: list) -> None:
            for batch in mine:
                receipts.extend(ingest.handle("k-test-1", payload(batch)).receipts)

        # each worker gets every other batch, and both get the first batch again (a re-send)
        threads = [threading.Thread(target=work, args=(w, batches[i::2] + batches[:1])) for i, w in enumerate(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        final = workers[0].handle("k-test-1", payload(recs[-1:])).receipts[0]
        tokens = workers[0].store.tokens("k-test-1")
        for w in workers:
            w.store.close()
    assert (400, recs[-1].hash, []) == (final["upto"], final["head"], final["missing"])
    assert [r.token for r in recs] == tokens
    assert chain.verify_chain(parse_unverified(t) for t in tokens).ok
    assert all(not r["rejected"] for r in receipts)


def test_refused_lines_duplicates_and_replay_on_postgres(tmp_path: Path, county: TestCounty) -> None:
    """Contract 1.1's refusals, duplicate lookup and replay run on PostgreSQL too."""
    (tmp_path / "registry.jws").write_text(county.registry({"k-b": "v-test"}, revoked=("k-b",)).token)
    files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": tmp_path / "registry.jws"})
    files.load(first=True)
    recs = KioskChain(county, kiosk="k-b").many(3)
    thief = KioskChain(TestCounty(county_id=county.county_id), kiosk="k-b").many(5)
    with database() as url:
        ingest = Ingest(Store.open(url), files, lambda: NOW)
        try:
            assert {"revoked-kiosk": 3} == ingest.handle("k-b", payload(recs)).rejected
            again = ingest.handle("k-b", payload(recs))
            assert (3, 3) == (again.duplicates, len(again.receipts[0]["rejected"]))
            assert {"bad-signature": 2} == ingest.handle("k-b", payload(thief[3:])).refused
            (tmp_path / "registry.jws").write_text(county.registry({"k-b": "v-test"}, 2).token)
            files.load()
            replayed = ingest.replay("k-b", [r["token"] for r in ingest.store.rejected_rows("k-b")])
            assert 3 == replayed.stored
            assert [r.token for r in recs] == ingest.store.tokens("k-b")
            assert 2 == len(ingest.store.refused_rows("k-b"))
        finally:
            ingest.store.close()


def test_a_record_committed_late_is_not_passed_by_the_relay(tmp_path: Path, county: TestCounty) -> None:
    """Two gateway processes: the one that took the lower rowid_ commits second. The relay's
    reading must wait for it instead of moving past it for good."""
    (tmp_path / "registry.jws").write_text(county.registry({"k-test-1": "v-test", "k-test-2": "v-test"}).token)
    files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": tmp_path / "registry.jws"})
    files.load(first=True)
    slow, fast = KioskChain(county, kiosk="k-test-1").many(1), KioskChain(county, kiosk="k-test-2").many(1)
    with database() as url:
        a, b, reader = Store.open(url), Store.open(url), Store.open(url)
        with a.tx() as tx:  # process A takes its rowid_ and has not committed yet
            rec = slow[0]
            tx.insert_records([("k-test-1", 1, 1, rec.id, rec.type, "v-test", rec.event["time"], rec.hash,
                                rec.prev, rec.token, "", 0)])
            Ingest(b, files, lambda: NOW).handle("k-test-2", payload(fast))  # B commits first
            seen_early = reader.records_in_commit_order((0, 0), 100)
        # a write transaction elsewhere on this server also holds the horizon back: wait it out
        deadline = time.monotonic() + 120
        while len(seen := reader.records_in_commit_order((0, 0), 100)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        for s in (a, b, reader):
            s.close()
    assert [] == seen_early  # B's record waits: A's transaction might still commit before it
    assert [slow[0].token, fast[0].token] == [token for _, token in seen]
