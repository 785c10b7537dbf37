"""A thief holding one kiosk's certificate AND signing key (a copied SD card) against the
gateway's ingest, on a real SQLite store: signed records that do not link to the kiosk's chain
take no position, so the genuine kiosk's records are still stored (issue 11's audit)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from gateway.ingest import Ingest
from gateway.store import Store
from records import jws
from tests.integration.test_gateway_refused import county_files, table
from tests.integration.test_plausibility import checkin
from tests.integration.test_protocol_faults import kiosk_b_and_a_thief, rows, stored_ids, tap
from tests.support.county import TestCounty
from tests.support.gateway import NOW, KioskChain, payload
from tests.support.mosquitto import Mosquitto
from tests.support.postgres import database
from tests.support.venue import GatewayProcess, wait_until


@pytest.fixture
def running_gateway(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto):
    gw = GatewayProcess(county, tmp_path / "gateway", mosquitto, kiosks={"k-b": "v-test"})
    gw.start()
    yield gw
    gw.kill()


@pytest.fixture(params=["sqlite", "postgresql"])
def ingest(request: pytest.FixtureRequest, tmp_path: Path, county: TestCounty) -> Iterator[Ingest]:
    files = county_files(tmp_path, county, {"k-b": "v-test"})
    if request.param == "sqlite":
        yield Ingest(Store.open(f"sqlite:///{tmp_path / 'gw.sqlite3'}"), files, lambda: NOW)
        return
    with database() as url:
        store = Store.open(url)
        yield Ingest(store, files, lambda: NOW)
        store.close()


def thief_at(county: TestCounty, seq: int, prev: str = "an-old-head-from-a-copied-card", epoch: int = 1) -> KioskChain:
    """A chain signed with k-b's real key, positioned at ``seq`` with a link of the thief's choosing."""
    thief = KioskChain(county, kiosk="k-b", bootid="thief", epoch=epoch)
    thief.seq, thief.head = seq - 1, prev
    return thief


def offer_until_settled(ingest: Ingest, recs: list, rounds: int = 10) -> dict:
    """The kiosk offers its unsettled records again after every receipt (as its uplink does)."""
    receipt: dict = {}
    for _ in range(rounds):
        unsettled = [r for r in recs if r.event["seq"] > receipt.get("upto", 0)]
        if not unsettled:
            break
        receipt = ingest.handle("k-b", payload(unsettled)).receipts[0]
    return receipt


class TestStolenSigningKey:
    def test_a_signed_record_at_the_next_position_that_does_not_link_takes_no_position(
            self, ingest: Ingest, county: TestCounty) -> None:
        """Old code: the thief's record took seq 4 as a rejected `fork`, and every genuine record
        after it was rejected as `fork` for good (none stored again)."""
        genuine = KioskChain(county, kiosk="k-b")
        ingest.handle("k-b", payload(genuine.many(3)))
        out = ingest.handle("k-b", payload([thief_at(county, 4).next()]))
        assert ({"fork": 1}, 3, []) == (out.refused, out.receipts[0]["upto"], out.receipts[0]["rejected"])
        after = genuine.many(5)
        out = ingest.handle("k-b", payload(after))
        assert (5, 8, after[-1].hash, []) == (out.stored, out.receipts[0]["upto"], out.receipts[0]["head"],
                                             out.receipts[0]["rejected"])
        assert [r.token for r in genuine.made] == ingest.store.tokens("k-b")
        assert (0, 1) == (table(ingest, "rejected"), table(ingest, "refused"))
        assert [("fork",)] == ingest.store.query("SELECT kind FROM alerts")

    def test_a_signed_record_with_a_bad_body_cannot_take_the_next_position(
            self, ingest: Ingest, county: TestCounty) -> None:
        """A body that fails its schema skipped the link check: it took the position as rejected."""
        genuine = KioskChain(county, kiosk="k-b")
        ingest.handle("k-b", payload(genuine.many(2)))
        bad = thief_at(county, 3).next("rating", {"learner": "x", "score": 9})
        assert {"fork": 1} == ingest.handle("k-b", payload([bad])).refused
        after = genuine.many(2)
        out = ingest.handle("k-b", payload(after))
        assert (2, 4, []) == (out.stored, out.receipts[0]["upto"], out.receipts[0]["rejected"])

    def test_a_signed_record_planted_ahead_does_not_wedge_the_chain(
            self, ingest: Ingest, county: TestCounty) -> None:
        """Old code: a record at upto+3 with a wrong link was stored as verified; when the genuine
        records reached it the chain stopped there for good and the kiosk never settled again."""
        genuine = KioskChain(county, kiosk="k-b")
        ingest.handle("k-b", payload(genuine.many(3)))
        planted = thief_at(county, 6).many(2)  # 6 and 7, linked to each other, not to the kiosk's 5
        ingest.handle("k-b", payload(planted))
        after = genuine.many(6)  # 4..9
        receipt = offer_until_settled(ingest, after)
        assert (9, after[-1].hash) == (receipt["upto"], receipt["head"])
        assert [r.token for r in genuine.made] == ingest.store.tokens("k-b")
        assert {r.token for r in planted} == {t for (t,) in ingest.store.query("SELECT token FROM refused")}
        assert 0 == table(ingest, "rejected")

    def test_a_planted_check_in_takes_its_credited_attendance_along(self, ingest: Ingest, county: TestCounty) -> None:
        """What the plausibility checks noted of a planted record (a check-in a forged check-out
        could pair with, minutes towards a learner's day) leaves with it."""
        genuine = KioskChain(county, kiosk="k-b")
        ingest.handle("k-b", payload(genuine.many(1)))
        planted = checkin(thief_at(county, 3), "3301000000014")
        ingest.handle("k-b", payload([planted]))
        assert [(planted.id,)] == ingest.store.query("SELECT record_id FROM attendance")
        offer_until_settled(ingest, genuine.many(3))
        assert ([], [("fork",)]) == (ingest.store.query("SELECT record_id FROM attendance"),
                                     ingest.store.query("SELECT reason FROM refused"))

    def test_a_linked_record_ahead_still_waits_for_its_gap(self, ingest: Ingest, county: TestCounty) -> None:
        """Out of order is not a fork: records past a gap are kept and the chain advances through them."""
        genuine = KioskChain(county, kiosk="k-b")
        recs = genuine.many(6)
        assert 2 == ingest.handle("k-b", payload(recs[:2] + recs[4:])).receipts[0]["upto"]
        out = ingest.handle("k-b", payload(recs[2:4]))
        assert (6, {}) == (out.receipts[0]["upto"], out.refused)
        assert [r.token for r in recs] == ingest.store.tokens("k-b")


def test_a_signed_mono_that_is_not_ascii_digits_is_malformed_not_a_crash(ingest: Ingest, county: TestCounty) -> None:
    """Old code: "²" passed the record check (str.isdigit) and int() raised in the gateway's
    clock check: no receipt, the message lost, and /healthz blaming the store."""
    k = KioskChain(county, kiosk="k-b")
    ingest.handle("k-b", payload([k.next()]))
    event = k.next().event | {"mono": "²"}  # same link, same boot: re-signed with the kiosk's key
    token = jws.sign(orjson.dumps(event), county.kiosk_key("k-b"), {"kid": "k-b/1"})
    out = ingest.handle("k-b", token.encode())
    assert ({"malformed": 1}, 2) == (out.rejected, out.receipts[0]["upto"])


@pytest.mark.parametrize("venue", ["#", "+", "v-test/extra", "v-test\n", "V-TEST", ""])
def test_a_signed_venue_that_is_no_topic_level_is_malformed(ingest: Ingest, county: TestCounty, venue: str) -> None:
    """Old code: stored as verified, then published on lc/v1/verified/<venue> — paho refuses a
    wildcard topic, so the receipt after the commit was never sent (and "/" wrote into
    another topic of the verified stream)."""
    k = KioskChain(county, kiosk="k-b")
    ingest.handle("k-b", payload([k.next()]))
    event = k.next().event | {"venue": venue}
    token = jws.sign(orjson.dumps(event), county.kiosk_key("k-b"), {"kid": "k-b/1"})
    out = ingest.handle("k-b", token.encode())
    assert ({"malformed": 1}, [], 2) == (out.rejected, out.verified, out.receipts[0]["upto"])


@pytest.mark.parametrize("planned_start", ["x" * 28, "2026-11-23T09:00:00.000+99:00"])
def test_a_signed_session_with_planned_times_that_are_no_times_does_not_raise(
        tmp_path: Path, county: TestCounty, planned_start: str) -> None:
    """Old code: the plausibility check parsed them inside the ingest's transaction and raised —
    no receipt, the message lost, /healthz blaming the store (and the watchdog unfed), as often
    as a thief with the key cared to send one, even planted ahead where no link is checked."""
    files = county_files(tmp_path, county, {"k-b": "v-test"})
    ingest = Ingest(Store.open(f"sqlite:///{tmp_path / 'gw.sqlite3'}"), files, lambda: NOW)
    rule = {"min_share_percent": 50, "rounding_minutes": 15, "cap_at_session": True,
            "daily_self_study_cap_minutes": 240}
    opened = thief_at(county, 3).next("session.opened", {
        "session_id": str(uuid.uuid4()), "course": "x", "category": "culture", "staff_id": "s-0001",
        "planned_start": planned_start, "planned_end": "2026-11-23T10:00:00.000+08:00", "credit_rule": rule})
    out = ingest.handle("k-b", payload([opened]))
    assert (None, 1) == (out.error, out.stored)


class TestRefusedFlood:
    def test_the_same_refused_line_is_kept_once(self, ingest: Ingest, county: TestCounty) -> None:
        """Old code: every re-send of a forged line added a row (a certificate fills the disk)."""
        forged = KioskChain(TestCounty(county_id=county.county_id), kiosk="k-b").many(5)
        for _ in range(20):
            out = ingest.handle("k-b", payload(forged))
        assert ({"bad-signature": 5}, 5) == (out.refused, table(ingest, "refused"))

    def test_refused_lines_kept_per_kiosk_are_bounded(self, tmp_path: Path, county: TestCounty) -> None:
        files = county_files(tmp_path, county, {"k-b": "v-test", "k-c": "v-test"})
        ingest = Ingest(Store.open(f"sqlite:///{tmp_path / 'gw.sqlite3'}"), files, lambda: NOW, max_refused=30)
        thief = KioskChain(TestCounty(county_id=county.county_id), kiosk="k-b")
        for _ in range(4):
            assert {"bad-signature": 20} == ingest.handle("k-b", payload(thief.many(20))).refused
        assert 30 == table(ingest, "refused")
        assert [("refused-overflow",)] == ingest.store.query("SELECT kind FROM alerts")
        other = KioskChain(TestCounty(county_id=county.county_id), kiosk="k-c")
        ingest.handle("k-c", payload(other.many(3)))  # another kiosk's budget is its own
        assert 33 == table(ingest, "refused")
        genuine = KioskChain(county, kiosk="k-b").many(3)
        assert 3 == ingest.handle("k-b", payload(genuine)).receipts[0]["upto"]


def test_a_stolen_key_cannot_block_the_kiosks_taps_with_records_that_do_not_link(
        tmp_path: Path, county: TestCounty, mosquitto: Mosquitto, running_gateway: GatewayProcess) -> None:
    """Real processes: a thief with k-b's certificate and signing key (a copied SD card) publishes
    a signed record at k-b's next position and one planted three further on, both with a link
    of its own. Old code: k-b's next taps were all rejected as `fork` (moved to its rejected
    table) or never settled. Now every tap k-b answered is stored once."""
    gateway = running_gateway
    with kiosk_b_and_a_thief(tmp_path, county, mosquitto) as (kiosk, app, thief, first):
        epoch, seq = app.journal.epoch, app.journal.stats().seq
        thief.publish("lc/v1/k-b/rec", payload([thief_at(county, seq + 1, epoch=epoch).next()]))
        thief.publish("lc/v1/k-b/rec", payload([thief_at(county, seq + 4, epoch=epoch).next()]))
        wait_until("the gateway to handle both", lambda: sum(rows(gateway, f"SELECT count(*) FROM {t}")[0][0]  # noqa: S608
                                                             for t in ("records", "rejected", "refused")) >= seq + 2)
        later = tap(kiosk, county, 30)
        wait_until("k-b's outbox to empty", lambda: app.journal.stats().pending == 0, 120)
        assert 0 == app.journal.stats().rejected
    assert sorted(first + later) == sorted(stored_ids(gateway, "k-b"))
    assert [] == rows(gateway, "SELECT reason FROM rejected")
    assert [("fork", 2)] == rows(gateway, "SELECT reason, count(*) FROM refused GROUP BY reason")
