"""Contract 1.1 at the gateway's ingest, on a real SQLite store: only records that verify
with the kiosk's registered key take chain positions (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from gateway.county_files import CountyFiles
from gateway.ingest import Ingest
from gateway.store import Store
from records import jws
from tests.support.county import TestCounty
from tests.support.gateway import NOW, KioskChain, payload


def county_files(folder: Path, county: TestCounty, kiosks: dict[str, str], version: int = 1,
                 revoked: tuple[str, ...] = ()) -> CountyFiles:
    (folder / "registry.jws").write_text(county.registry(kiosks, version, revoked).token)
    files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": folder / "registry.jws"})
    files.load(first=True)
    return files


@pytest.fixture
def ingest(tmp_path: Path, county: TestCounty) -> Ingest:
    files = county_files(tmp_path, county, {"k-test-1": "v-test", "k-b": "v-test"})
    return Ingest(Store.open(f"sqlite:///{tmp_path / 'gw.sqlite3'}"), files, lambda: NOW)


def table(ingest: Ingest, name: str) -> int:
    return int(ingest.store.query(f"SELECT count(*) FROM {name}")[0][0])  # noqa: S608 - a test's table name


def at_seq(county: TestCounty, kiosk: str, epoch: int, seq: int, *, key_of: str | None = None) -> str:
    """A record at any (epoch, seq), even outside 32 bits, signed with ``key_of``'s key."""
    event = KioskChain(county, kiosk=kiosk).next().event | {"epoch": epoch, "seq": seq}
    return jws.sign(orjson.dumps(event), county.kiosk_key(key_of or kiosk), {"kid": f"{kiosk}/1"})


class TestCertificateWithoutTheKey:
    """A client publishing with kiosk k-b's identity (its certificate) but not its key."""

    def test_forged_lines_at_the_next_positions_block_nothing(self, ingest: Ingest, county: TestCounty) -> None:
        thief = KioskChain(TestCounty(county_id=county.county_id), kiosk="k-b")
        out = ingest.handle("k-b", payload(thief.many(300)))
        assert ({"bad-signature": 300}, 0, []) == (out.refused, out.receipts[0]["upto"], out.resend)
        genuine = KioskChain(county, kiosk="k-b").many(300)
        out = ingest.handle("k-b", payload(genuine))
        assert (300, 300, genuine[-1].hash, []) == (out.stored, out.receipts[0]["upto"], out.receipts[0]["head"],
                                                    out.receipts[0]["rejected"])
        assert [r.token for r in genuine] == ingest.store.tokens("k-b")
        assert (0, 300) == (table(ingest, "rejected"), table(ingest, "refused"))

    def test_forged_line_at_a_stored_position_is_not_listed_as_rejected(
            self, ingest: Ingest, county: TestCounty) -> None:
        genuine = KioskChain(county, kiosk="k-b").many(3)
        ingest.handle("k-b", payload(genuine))
        forged = KioskChain(TestCounty(county_id=county.county_id), kiosk="k-b").many(2)[1]
        out = ingest.handle("k-b", payload([forged]))
        receipt = out.receipts[0]
        assert ([], 3, genuine[-1].hash, 1) == (receipt["rejected"], receipt["upto"], receipt["head"],
                                                receipt["refused"])
        assert [r.token for r in genuine] == ingest.store.tokens("k-b")

    def test_records_of_another_kiosk_on_this_topic_are_refused(self, ingest: Ingest, county: TestCounty) -> None:
        out = ingest.handle("k-b", payload(KioskChain(county, kiosk="k-test-1").many(2)))
        assert ({"wrong-kiosk": 2}, 0) == (out.refused, ingest.store.count())
        assert 0 == table(ingest, "chains")


class TestHugeSeq:
    @pytest.mark.parametrize("seq", [2**31, 2**40, 2**63 + 5])
    @pytest.mark.parametrize("signed", [True, False], ids=["with-the-key", "forged"])
    def test_out_of_range_positions_are_refused_without_a_crash(
            self, ingest: Ingest, county: TestCounty, seq: int, signed: bool) -> None:
        token = at_seq(county, "k-b", 1, seq, key_of="k-b" if signed else "k-test-1")
        out = ingest.handle("k-b", token.encode())
        assert ({"bad-position": 1}, [], [], None) == (out.refused, out.receipts, out.resend, out.error)
        assert (0, 1, 0) == (table(ingest, "rejected"), table(ingest, "refused"), table(ingest, "chains"))
        genuine = KioskChain(county, kiosk="k-b").many(2)
        assert 2 == ingest.handle("k-b", payload(genuine)).receipts[0]["upto"]

    def test_out_of_range_epoch_is_refused(self, ingest: Ingest, county: TestCounty) -> None:
        out = ingest.handle("k-b", at_seq(county, "k-b", 2**63 + 5, 1).encode())
        assert {"bad-position": 1} == out.refused

    def test_verified_seq_far_ahead_is_refused_and_asks_for_nothing(
            self, ingest: Ingest, county: TestCounty) -> None:
        """Signed with the kiosk's key but 2³¹−1: refused (seq-too-far), no resend storm."""
        out = ingest.handle("k-b", at_seq(county, "k-b", 1, 2**31 - 1).encode())
        assert ({"seq-too-far": 1}, [], []) == (out.refused, out.resend, out.receipts[0]["missing"])
        assert 0 == table(ingest, "rejected")

    def test_the_bound_is_relative_to_upto(self, tmp_path: Path, county: TestCounty) -> None:
        files = county_files(tmp_path, county, {"k-b": "v-test"})
        ingest = Ingest(Store.open(f"sqlite:///{tmp_path / 'gw.sqlite3'}"), files, lambda: NOW, max_ahead=5)
        k = KioskChain(county, kiosk="k-b")
        recs = k.many(12)
        out = ingest.handle("k-b", payload(recs[:3] + recs[8:]))  # 9..12 are more than 5 past upto 0
        assert ({"seq-too-far": 4}, 3) == (out.refused, out.receipts[0]["upto"])
        out = ingest.handle("k-b", payload(recs[3:]))
        assert 12 == out.receipts[0]["upto"]


class TestDuplicates:
    def test_a_resent_record_is_settled_without_checking_its_signature(
            self, tmp_path: Path, county: TestCounty, ingest: Ingest) -> None:
        """Duplicates are found by (kiosk, epoch, seq, hash) first: after the registry lost the
        key, re-sent records still settle as duplicates (a verify would have failed)."""
        recs = KioskChain(county, kiosk="k-b").many(3)
        ingest.handle("k-b", payload(recs))
        county.kiosk_keys["k-b"] = county.kiosk_key("k-other")  # the registry now names another key
        ingest.county = county_files(tmp_path, county, {"k-b": "v-test"}, version=2)
        out = ingest.handle("k-b", payload(recs))
        assert (3, {}, 3) == (out.duplicates, out.refused, out.receipts[0]["upto"])


class TestEpochs:
    def test_fresh_start_with_empty_prev_is_accepted_and_alerted(self, ingest: Ingest, county: TestCounty) -> None:
        """A kiosk that lost its storage starts a random epoch from "": stored, county IT told."""
        ingest.handle("k-b", payload(KioskChain(county, kiosk="k-b", epoch=1_234_567).many(3)))
        fresh = KioskChain(county, kiosk="k-b", epoch=987_654_321).many(2)
        out = ingest.handle("k-b", payload(fresh))
        assert (2, []) == (out.receipts[0]["upto"], out.receipts[0]["rejected"])
        assert [("fresh-start",)] == ingest.store.query("SELECT kind FROM alerts")

    def test_version_1_epochs_counting_up_stay_valid(self, ingest: Ingest, county: TestCounty) -> None:
        k = KioskChain(county, kiosk="k-b")
        head = ingest.handle("k-b", payload(k.many(2))).receipts[0]["head"]
        k.new_epoch(head)
        out = ingest.handle("k-b", payload(k.many(2)))
        assert (2, 2, []) == (out.receipts[0]["epoch"], out.receipts[0]["upto"], out.receipts[0]["rejected"])


class TestCountyFilesChange:
    def test_a_kiosk_enrolled_after_start_is_held_then_stored(
            self, tmp_path: Path, county: TestCounty, ingest: Ingest) -> None:
        """Unknown kiosk: error receipt, nothing settled; once the registry file names it, the
        next message re-reads it and the records are stored (never rejected)."""
        recs = KioskChain(county, kiosk="k-new").many(2)
        out = ingest.handle("k-new", payload(recs))
        assert ("unknown-kiosk", []) == (out.error, out.receipts)
        (tmp_path / "registry.jws").write_text(
            county.registry({"k-test-1": "v-test", "k-b": "v-test", "k-new": "v-test"}, 2).token)
        out = ingest.handle("k-new", payload(recs))
        assert (None, 2, []) == (out.error, out.stored, out.receipts[0]["rejected"])
        assert 0 == table(ingest, "rejected")

    def test_replay_stores_a_record_rejected_while_its_kiosk_was_revoked(
            self, tmp_path: Path, county: TestCounty) -> None:
        files = county_files(tmp_path, county, {"k-b": "v-test"}, revoked=("k-b",))
        ingest = Ingest(Store.open(f"sqlite:///{tmp_path / 'gw.sqlite3'}"), files, lambda: NOW)
        recs = KioskChain(county, kiosk="k-b").many(3)
        out = ingest.handle("k-b", payload(recs))
        assert (3, {"revoked-kiosk": 3}) == (out.receipts[0]["upto"], out.rejected)
        (tmp_path / "registry.jws").write_text(county.registry({"k-b": "v-test"}, 2).token)  # reinstated
        files.load()
        rows = ingest.store.rejected_rows("k-b")
        out = ingest.replay("k-b", [row["token"] for row in rows])
        assert (3, {}) == (out.stored, out.rejected)
        assert ([r.token for r in recs], 0) == (ingest.store.tokens("k-b"), table(ingest, "rejected"))


def test_replay_and_refused_list_commands(tmp_path: Path, county: TestCounty, mosquitto) -> None:
    """`gateway rejected replay` stores what was rejected once the county reinstated the kiosk;
    `gateway refused list` shows what never took a position."""
    from click.testing import CliRunner

    from learncard.main import cli
    from tests.support.venue import GatewayProcess

    gw = GatewayProcess(county, tmp_path / "gateway", mosquitto, kiosks={"k-b": "v-test"})
    gw.write_documents(version=1, revoked=("k-b",))
    files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": gw.folder / "registry.jws"})
    files.load(first=True)
    store = gw.store()
    ingest = Ingest(store, files, lambda: NOW)
    recs = KioskChain(county, kiosk="k-b").many(4)
    assert {"revoked-kiosk": 4} == ingest.handle("k-b", payload(recs)).rejected
    ingest.handle("k-b", payload(KioskChain(TestCounty(county_id=county.county_id), kiosk="k-b").many(5)[4:]))
    store.close()
    gw.write_documents(version=2)  # county IT reinstates the kiosk
    runner = CliRunner()
    before = runner.invoke(cli, ["gateway", "--config", str(gw.config), "rejected", "list", "--reason", "revoked-kiosk"])
    assert 0 == before.exit_code and 4 == before.output.count("revoked-kiosk"), before.output
    out = runner.invoke(cli, ["gateway", "--config", str(gw.config), "rejected", "replay", "--json"])
    assert 0 == out.exit_code, out.output
    assert {"records": 4, "stored": 4, "rejected": {}, "refused": {}, "error": None} == json.loads(out.output)["k-b"]
    store = gw.store()
    assert [r.token for r in recs] == store.tokens("k-b")
    store.close()
    listed = runner.invoke(cli, ["gateway", "--config", str(gw.config), "refused", "list"])
    assert 0 == listed.exit_code and "bad-signature" in listed.output and "k-b" in listed.output


def test_a_rejected_record_sent_again_is_listed_as_rejected_again(ingest: Ingest, county: TestCounty) -> None:
    """Its first receipt may have been lost: the kiosk must still hear it was rejected."""
    k = KioskChain(county, kiosk="k-b")
    recs = [k.next(), k.next("rating", {"learner": "x", "score": 9})]
    first = ingest.handle("k-b", payload(recs))
    again = ingest.handle("k-b", payload(recs))
    assert first.receipts[0]["rejected"] == again.receipts[0]["rejected"] == [{"seq": 2, "reason": "bad-schema"}]
    assert (2, 2) == (again.duplicates, again.receipts[0]["upto"])
