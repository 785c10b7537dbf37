"""The gateway's ingest on a real SQLite store: verify, chain, store once, receipts."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.county_files import CountyFiles
from gateway.ingest import MAX_PAYLOAD, Ingest
from gateway.store import Store
from records import chain, keys
from records.record import parse_unverified
from tests.support.county import TestCounty
from tests.support.gateway import NOW, KioskChain, payload


@pytest.fixture
def ingest(tmp_path: Path, county: TestCounty) -> Ingest:
    reg = county.registry({"k-test-1": "v-test", "k-other": "v-test", "k-gone": "v-test"}, revoked=("k-gone",))
    (tmp_path / "registry.jws").write_text(reg.token)
    files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": tmp_path / "registry.jws"})
    files.load(first=True)
    return Ingest(Store.open(f"sqlite:///{tmp_path / 'gw.sqlite3'}"), files, lambda: NOW)


class TestHappyPath:
    def test_batch_is_stored_and_settled(self, ingest: Ingest, county: TestCounty) -> None:
        k = KioskChain(county)
        recs = k.many(5)
        out = ingest.handle("k-test-1", payload(recs))
        assert (5, None) == (out.stored, out.error)
        (receipt,) = out.receipts
        assert (1, 5, recs[-1].hash, [], []) == (receipt["epoch"], receipt["upto"], receipt["head"],
                                                 receipt["missing"], receipt["rejected"])
        assert [r.token for r in recs] == ingest.store.tokens("k-test-1")
        assert [("v-test", r.token) for r in recs] == out.verified

    def test_resent_unchanged_is_stored_once_and_settled_again(self, ingest: Ingest, county: TestCounty) -> None:
        recs = KioskChain(county).many(3)
        ingest.handle("k-test-1", payload(recs))
        again = ingest.handle("k-test-1", payload(recs))
        assert (0, 3) == (again.stored, again.duplicates)
        assert 3 == again.receipts[0]["upto"]
        assert 3 == ingest.store.count()

    def test_gap_is_missing_and_asked_again(self, ingest: Ingest, county: TestCounty) -> None:
        recs = KioskChain(county).many(6)
        out = ingest.handle("k-test-1", payload(recs[:2] + recs[4:]))
        assert 2 == out.receipts[0]["upto"]
        assert [[3, 4]] == out.receipts[0]["missing"]
        assert [{"epoch": 1, "from": 3, "to": 4}] == out.resend
        filled = ingest.handle("k-test-1", payload(recs[2:4]))
        assert (6, [], recs[5].hash) == (filled.receipts[0]["upto"], filled.receipts[0]["missing"],
                                         filled.receipts[0]["head"])
        assert chain.verify_chain(parse_unverified(t) for t in ingest.store.tokens("k-test-1")).ok


class TestRefused:
    def refused(self, ingest: Ingest, kiosk: str, recs) -> tuple[str, list]:
        out = ingest.handle(kiosk, payload(recs))
        return out.receipts[0]["rejected"], out

    def test_forged_signature_is_refused_not_settled(self, ingest: Ingest, county: TestCounty) -> None:
        """Contract 1.1: a line that does not verify takes no position and is kept apart."""
        impostor = TestCounty(county_id=county.county_id)
        rejected, out = self.refused(ingest, "k-test-1", KioskChain(impostor).many(1))
        assert ([], 0, 1) == (rejected, out.receipts[0]["upto"], out.receipts[0]["refused"])
        assert 0 == ingest.store.count()
        assert [("k-test-1", 1, 1, "bad-signature")] == ingest.store.query(
            "SELECT kiosk, epoch, seq, reason FROM refused")

    def test_unknown_kiosk_is_never_final(self, ingest: Ingest, county: TestCounty) -> None:
        """An unknown kiosk gets an error receipt: nothing settled, nothing rejected."""
        out = ingest.handle("k-nobody", payload(KioskChain(county, kiosk="k-nobody").many(1)))
        assert ("unknown-kiosk", []) == (out.error, out.receipts)
        assert [(0,)] == ingest.store.query("SELECT count(*) FROM rejected") == ingest.store.query(
            "SELECT count(*) FROM refused")

    def test_revoked_kiosk_records_are_rejected(self, ingest: Ingest, county: TestCounty) -> None:
        rejected, _ = self.refused(ingest, "k-gone", KioskChain(county, kiosk="k-gone").many(1))
        assert "revoked-kiosk" == rejected[0]["reason"]

    def test_record_of_another_kiosk_on_this_topic(self, ingest: Ingest, county: TestCounty) -> None:
        out = ingest.handle("k-test-1", payload(KioskChain(county, kiosk="k-other").many(1)))
        assert ([], {"wrong-kiosk": 1}) == (out.receipts[0]["rejected"], out.refused)

    def test_body_failing_its_schema(self, ingest: Ingest, county: TestCounty) -> None:
        k = KioskChain(county)
        rejected, _ = self.refused(ingest, "k-test-1", [k.next("rating", {"learner": "x", "score": 9})])
        assert "bad-schema" == rejected[0]["reason"]

    def test_fork_is_rejected_and_alerted(self, ingest: Ingest, county: TestCounty) -> None:
        k = KioskChain(county)
        recs = k.many(2)
        ingest.handle("k-test-1", payload(recs))
        fork = KioskChain(county)  # a second record at seq 2 that links to seq 1 as well
        fork.seq, fork.head = 1, recs[0].hash
        forked = fork.next("kiosk.checkpoint", {"pending": 9, "journal_bytes": 9})
        rejected, _ = self.refused(ingest, "k-test-1", [forked])
        assert [{"seq": 2, "reason": "fork"}] == rejected
        assert [recs[1].token] == ingest.store.tokens("k-test-1")[1:]
        assert ingest.store.query("SELECT kind FROM alerts") == [("fork",)]

    def test_chain_continues_past_a_rejected_record(self, ingest: Ingest, county: TestCounty) -> None:
        k = KioskChain(county)
        good = k.next()
        bad = k.next("rating", {"learner": "x", "score": 9})
        after = k.next()
        out = ingest.handle("k-test-1", payload([good, bad, after]))
        assert (3, after.hash) == (out.receipts[0]["upto"], out.receipts[0]["head"])

    @pytest.mark.parametrize("raw", [b"\xff\xfe", b"not a jws", b"a.b.c", b"   \n  "])
    def test_malformed_payload(self, ingest: Ingest, raw: bytes) -> None:
        out = ingest.handle("k-test-1", raw)
        assert out.error in ("malformed", "empty")
        assert [] == out.receipts

    def test_oversized_payload(self, ingest: Ingest, county: TestCounty) -> None:
        out = ingest.handle("k-test-1", b"x" * (MAX_PAYLOAD + 1))
        assert "too-large" == out.error


class TestEpochsAndClocks:
    def test_new_epoch_links_to_the_last_receipt_head(self, ingest: Ingest, county: TestCounty) -> None:
        k = KioskChain(county)
        first = k.many(3)
        receipt = ingest.handle("k-test-1", payload(first)).receipts[0]
        k.new_epoch(receipt["head"])  # the journal was quarantined; the head file survived
        second = k.many(2)
        out = ingest.handle("k-test-1", payload(second))
        assert ([], 2) == (out.receipts[0]["rejected"], out.receipts[0]["upto"])

    def test_new_epoch_with_an_unknown_link_is_refused(self, ingest: Ingest, county: TestCounty) -> None:
        k = KioskChain(county)
        ingest.handle("k-test-1", payload(k.many(2)))
        k.new_epoch("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        rejected, _ = TestRefused().refused(ingest, "k-test-1", k.many(1))
        assert "bad-epoch-link" == rejected[0]["reason"]

    def test_clock_jumped_back_is_flagged_and_seq_order_holds(self, ingest: Ingest, county: TestCounty) -> None:
        from datetime import timedelta

        k = KioskChain(county)
        recs = k.many(2)
        k.time -= timedelta(hours=1)
        recs += k.many(2)
        out = ingest.handle("k-test-1", payload(recs))
        assert (4, 1) <= (out.receipts[0]["upto"], out.flagged)
        flags = ingest.store.query("SELECT seq, flags FROM records ORDER BY seq")
        assert [(1, ""), (2, ""), (3, "clock-backwards")] == flags[:3]
        assert [1, 2, 3, 4] == [s for s, _ in flags]


def test_registry_key_versions(tmp_path: Path, county: TestCounty) -> None:
    """Records signed with an older key version still verify after a rekey."""
    reg = county.registry({"k-test-1": "v-test"})
    body = dict(reg.body)
    body["kiosks"]["k-test-1"]["keys"]["2"] = keys.public_key_text(county.kiosk_key("k-test-1"))
    from records import county as docs

    (tmp_path / "registry.jws").write_text(docs.sign_document("registry", county.county_id, 2, body,
                                                               county.issuer, NOW).token)
    files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": tmp_path / "registry.jws"})
    files.load(first=True)
    ingest = Ingest(Store.open(f"sqlite:///{tmp_path / 'gw.sqlite3'}"), files, lambda: NOW)
    k = KioskChain(county)
    out = ingest.handle("k-test-1", payload([k.next(key_version=1), k.next(key_version=2)]))
    assert (2, []) == (out.stored, out.receipts[0]["rejected"])
