"""Corrections end to end: a kiosk's taps reach the LRS through a real gateway process; county IT
voids and amends records with `learncard gateway correct` (a separate process, signing with the
county corrections key the registry names); the running relay sends the voiding and corrected
statements, which the test LRS accepts; the report before and after."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.lrs import LrsClient
from gateway.xapi import statement_id
from tests.support.county import TestCounty
from tests.support.lrs import Lrs
from tests.support.mosquitto import Mosquitto
from tests.support.venue import ROOT, GatewayProcess, kiosk_online, wait_until

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
MINUTES = "https://w3id.org/learncard/xapi/ext/minutes-credited"


@pytest.fixture(scope="module")
def lrs() -> Lrs:
    server = Lrs().start()
    yield server
    server.stop()


def learncard(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "learncard", "gateway", "--config", str(config), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def report(config: Path, out: Path) -> dict:
    done = learncard(config, "report", "--out", str(out), "--json")
    assert 0 == done.returncode, done.stderr
    return json.loads(done.stdout)


def active(client: LrsClient) -> dict[str, dict]:
    return {s["id"]: s for s in client.get_all()}


def voided_targets(client: LrsClient) -> set[str]:
    return {s["object"]["id"] for s in client.get_all() if s["verb"]["id"] == VOIDED}


def test_county_void_and_amend_reach_the_lrs_and_the_report(tmp_path: Path, county: TestCounty, lrs: Lrs) -> None:
    broker = Mosquitto(tmp_path / "broker").start()
    gateway = GatewayProcess(county, tmp_path / "gateway", broker, lrs_endpoint=lrs.endpoint,
                             signers={"county-corrections": "corrections"}).start()
    client = LrsClient(lrs.endpoint, "lc", "secret")
    kiosk = kiosk_online(county, tmp_path / "kiosk", broker)
    try:
        with kiosk.running() as app:
            c = kiosk.client()
            cards = [county.qr(county.credential()) for _ in range(3)]
            ins = [c.call("tap", text=text) for text in cards]
            outs = [c.call("tap", text=text) for text in cards]
            c.close()
            assert ["checkout"] * 3 == [o["outcome"] for o in outs]
            wait_until("the outbox to empty", lambda: app.journal.stats().pending == 0)
        checkouts = [statement_id(o["record_id"]) for o in outs]
        wait_until("the check-outs at the LRS", lambda: set(checkouts) <= set(active(client)), 60)
        before = report(gateway.config, tmp_path / "before")
        assert 3 == sum(cell["attendances"] for cell in before["venues"])
        assert 0 == before["voided_left_out"]

        voided = learncard(gateway.config, "correct", "void", ins[0]["record_id"], "--reason", "duplicate", "--json")
        assert 0 == voided.returncode, voided.stderr
        correction = json.loads(voided.stdout)
        assert ("county-corrections", "void", ins[0]["record_id"]) == (
            correction["signer"], correction["action"], correction["target"])
        amended = learncard(gateway.config, "correct", "amend", outs[1]["record_id"], "--minutes", "30",
                            "--reason", "wrong-minutes", "--json")
        assert 0 == amended.returncode, amended.stderr
        amendment = json.loads(amended.stdout)["correction"]

        # the check-in has no statement: its check-out's is voided with it; the amended one too
        wait_until("the voiding statements at the LRS",
                   lambda: {checkouts[0], checkouts[1]} <= voided_targets(client), 60)
        wait_until("the corrected statement", lambda: statement_id(amendment) in active(client), 60)
        now = active(client)
        assert checkouts[0] not in now and checkouts[1] not in now  # voided: the LRS no longer lists them
        assert checkouts[2] in now
        corrected = now[statement_id(amendment)]
        assert 30 == corrected["context"]["extensions"][MINUTES]
        assert outs[1]["record_id"] == corrected["context"]["extensions"][
            "https://w3id.org/learncard/xapi/ext/record-id"]
        assert checkouts[1] == corrected["context"]["extensions"]["https://w3id.org/learncard/xapi/ext/corrects"]

        after = report(gateway.config, tmp_path / "after")
        assert 2 == after["voided_left_out"]  # the check-in and the check-out that ended it
        assert 2 == sum(cell["attendances"] for cell in after["venues"])
        credited = {star["learner"]: star["hours_credited"] for star in after["learning_stars"]}
        assert 0.5 in credited.values()  # the amended 30 minutes

        # the originals stay, exactly as signed; the correction is a record of its own chain
        store = gateway.store()
        try:
            kinds = dict(store.query("SELECT id, type FROM records"))
            assert kinds[ins[0]["record_id"]] == "attendance.checkin"
            assert kinds[correction["correction"]] == "correction"
            assert [1, 2] == [s for (s,) in store.query(
                "SELECT seq FROM records WHERE kiosk = 'county-corrections' ORDER BY seq")]
        finally:
            store.close()
        listing = learncard(gateway.config, "correct", "list", "--json")
        assert ["void", "amend"] == [row["effect"] for row in json.loads(listing.stdout)]

        # a voided record cannot be voided again; an unknown record cannot be corrected
        again = learncard(gateway.config, "correct", "void", ins[0]["record_id"], "--reason", "duplicate")
        assert 0 != again.returncode and "already-void" in again.stderr
        unknown = learncard(gateway.config, "correct", "void", "0190f000-0000-7000-8000-000000000000",
                            "--reason", "test")
        assert 0 != unknown.returncode and "no record" in unknown.stderr
    finally:
        gateway.kill()
        broker.kill()


def test_a_kiosk_key_cannot_sign_as_the_county(tmp_path: Path, county: TestCounty) -> None:
    """A stolen kiosk key configured as the corrections key: refused before anything is stored."""
    broker = Mosquitto(tmp_path / "broker").start()
    gateway = GatewayProcess(county, tmp_path / "gateway", broker, signers={"county-corrections": "corrections"})
    from records import keys

    (tmp_path / "gateway" / "county-corrections.key").write_bytes(
        keys.private_key_to_pem(county.kiosk_key("k-test-1")))
    try:
        done = learncard(gateway.config, "correct", "void", "0190f000-0000-7000-8000-000000000000",
                         "--reason", "test")
        assert 0 != done.returncode
        assert "registry names no active 'corrections' signer" in done.stderr
    finally:
        broker.kill()


def test_unpaired_checkout_paired_at_the_gateway_one_statement(tmp_path: Path, county: TestCounty, lrs: Lrs) -> None:
    """Two kiosks of one venue: check-in at A, check-out at B while B could not see A. The running
    gateway pairs them (a county amendment), credits by the session's rule, and the LRS gets one
    statement for the pair."""
    import uuid
    from datetime import timedelta

    from records.ids import learner_code
    from tests.support.county import NOW
    from tests.support.gateway import KioskChain, payload
    from tests.support.mqtt import TestClient

    broker = Mosquitto(tmp_path / "broker").start()
    gateway = GatewayProcess(county, tmp_path / "gateway", broker, kiosks={"k-a-1": "v-test", "k-b-1": "v-test"},
                             lrs_endpoint=lrs.endpoint, signers={"county-corrections": "corrections"}).start()
    client = LrsClient(lrs.endpoint, "lc", "secret")
    learner = learner_code(987_654_321_098)
    session = str(uuid.uuid4())
    a = KioskChain(county, kiosk="k-a-1")
    a.next("session.opened", {"session_id": session, "course": "书法", "category": "culture", "staff_id": "s-0001",
                              "planned_start": "2026-11-23T09:00:00.000+08:00",
                              "planned_end": "2026-11-23T10:30:00.000+08:00",
                              "credit_rule": {"min_share_percent": 50, "rounding_minutes": 15, "cap_at_session": True,
                                              "daily_self_study_cap_minutes": 240}})
    came = a.next("attendance.checkin", {"learner": learner, "card": "cd" * 8, "session_id": session, "how": "nfc",
                                         "groups": []})
    b = KioskChain(county, kiosk="k-b-1", time=NOW + timedelta(minutes=80))
    left = b.next("attendance.checkout", {"learner": learner, "card": "cd" * 8, "session_id": None,
                                          "checkin_id": None, "checkin_time": None, "seconds_present": 0,
                                          "minutes_credited": 0, "how": "nfc"})
    sender = TestClient(broker.port)
    try:
        assert sender.wait_connected()
        # B's check-out arrives first (re-offered until the gateway has subscribed: 16 = no subscriber yet)
        wait_until("the gateway to take B's record", lambda: sender.publish("lc/v1/k-b-1/rec", payload(b.made)) == 0)
        wait_until("B's record stored", lambda: gateway.count() == 1, 60)
        assert 0 == sender.publish("lc/v1/k-a-1/rec", payload(a.made))
        wait_until("the pair at the LRS", lambda: any(
            s["context"]["extensions"].get("https://w3id.org/learncard/xapi/ext/record-id") == left.id
            for s in active(client).values() if s["verb"]["id"] != VOIDED), 90)
        mine = [s for s in active(client).values() if s["actor"]["account"]["name"] == learner]
        assert 1 == len(mine)
        (pair,) = mine
        assert (75, "PT1H19M59S", came.event["time"]) == (  # 09:02:05 → 10:22:04
            pair["context"]["extensions"][MINUTES], pair["result"]["duration"], pair["timestamp"])
        assert pair["object"]["id"].endswith(f"/sessions/{session}")
        assert statement_id(left.id) not in active(client)  # the unpaired check-out made none of its own
    finally:
        sender.close()
        gateway.kill()
        broker.kill()


def test_staff_void_at_the_kiosk_reaches_the_lrs(tmp_path: Path, county: TestCounty, lrs: Lrs) -> None:
    """Staff (card + PIN) void today's attendance from the kiosk with a reason from the list: a
    kiosk-signed correction naming them; the LRS gets the voiding statement; the report leaves
    the attendance out; the resident's next tap is a check-in again."""
    from kiosk.errors import ControlError
    from tests.support.kiosk import STAFF_PIN

    broker = Mosquitto(tmp_path / "broker").start()
    gateway = GatewayProcess(county, tmp_path / "gateway", broker, lrs_endpoint=lrs.endpoint)
    client = LrsClient(lrs.endpoint, "lc", "secret")
    kiosk = kiosk_online(county, tmp_path / "kiosk", broker)
    staff_card = county.credential(staff=True, name="李*")
    staff = kiosk.staff_roster({"s-0001": staff_card})
    kiosk.put_document(staff)
    (tmp_path / "gateway" / "staff.jws").write_text(staff.token)  # the gateway checks the void's staff id
    gateway.start()
    try:
        with kiosk.running() as app:
            c = kiosk.client()
            resident = county.qr(county.credential())
            came, left = c.call("tap", text=resident), c.call("tap", text=resident)
            other = county.qr(county.credential())
            _kept_in, kept_out = c.call("tap", text=other), c.call("tap", text=other)
            wait_until("the check-outs at the LRS",
                       lambda: {statement_id(left["record_id"]), statement_id(kept_out["record_id"])}
                       <= set(active(client)), 60)
            tap = c.call("tap", text=county.qr(staff_card))
            token = c.call("staff.login", card_id=tap["card_id"], pin=STAFF_PIN)["token"]
            today = c.call("attendance.today", token=token)
            assert {came["record_id"], left["record_id"]} <= {r["record_id"] for r in today["attendances"]}
            assert "test" in [r["id"] for r in today["reasons"]] and "paired" not in [r["id"] for r in today["reasons"]]
            with pytest.raises(ControlError) as err:
                c.call("attendance.void", token=token, record_id=came["record_id"], reason="because I say so")
            assert "bad-request" == err.value.code
            with pytest.raises(ControlError) as err:
                c.call("attendance.void", record_id=came["record_id"], reason="test")  # no staff session
            voided = c.call("attendance.void", token=token, record_id=came["record_id"], reason="not-attended")
            assert {came["record_id"], left["record_id"]} == set(voided["voided"])
            with pytest.raises(ControlError) as err:
                c.call("attendance.void", token=token, record_id=came["record_id"], reason="not-attended")
            assert "already-void" == err.value.code
            third = county.qr(county.credential())
            wrong_in = c.call("tap", text=third)  # checked in by mistake, still open
            c.call("attendance.void", token=token, record_id=wrong_in["record_id"], reason="test")
            assert "checkin" == c.call("tap", text=third)["outcome"]  # not a check-out of the voided one
            c.close()
            wait_until("the outbox to empty", lambda: app.journal.stats().pending == 0)
        wait_until("the voiding statement at the LRS",
                   lambda: statement_id(left["record_id"]) in voided_targets(client), 60)
        assert statement_id(left["record_id"]) not in active(client)
        assert statement_id(kept_out["record_id"]) in active(client)
        store = gateway.store()
        try:
            (token_,) = store.query("SELECT token FROM records WHERE id = ?", (voided["record_id"],))[0]
        finally:
            store.close()
        from records.record import parse_unverified

        correction = parse_unverified(token_)
        assert ("k-test-1", "s-0001", "void") == (correction.kiosk, correction.data["staff_id"],
                                                  correction.data["action"])
        after = report(gateway.config, tmp_path / "after")
        assert (3, 2) == (after["voided_left_out"], sum(cell["attendances"] for cell in after["venues"]))
    finally:
        gateway.kill()
        broker.kill()


def test_a_kiosk_void_naming_unknown_staff_is_held_and_has_no_effect(tmp_path: Path, county: TestCounty) -> None:
    """A stolen kiosk key voids an attendance in the name of staff the county does not know: the
    gateway holds the correction for review, and until county IT accepts it, it voids nothing."""
    from datetime import UTC, datetime

    from gateway.corrections import load_ledger
    from gateway.county_files import CountyFiles
    from gateway.ingest import Ingest
    from gateway.store import Store
    from records.ids import learner_code
    from tests.support.gateway import KioskChain, payload

    (tmp_path / "registry.jws").write_text(county.registry({"k-test-1": "v-test"}).token)
    (tmp_path / "staff.jws").write_text(county.staff_roster([
        {"staff_id": "s-0001", "card": "cd" * 8, "role": "staff", "venues": ["v-test"], "pin_hash": "unused"}]).token)
    files = CountyFiles(county.county_id, county.issuer.public_key(),
                        {"registry": tmp_path / "registry.jws", "staff": tmp_path / "staff.jws"})
    files.load(first=True)
    store = Store.open(f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
    k = KioskChain(county)
    came = k.next("attendance.checkin", {"learner": learner_code(1), "card": "ab" * 8, "session_id": None,
                                         "how": "nfc", "groups": []})
    void = k.next("correction", {"target": came.id, "target_kiosk": "k-test-1", "action": "void", "reason": "test",
                                 "staff_id": "s-9999"})
    Ingest(store, files, lambda: datetime.now(UTC)).handle("k-test-1", payload(k.made))
    held = dict(store.query("SELECT record_id, reasons FROM held"))
    assert "staff-unknown" in held[void.id]
    assert {} == load_ledger(store, files.registry().purpose_of).voided
    store.close()
