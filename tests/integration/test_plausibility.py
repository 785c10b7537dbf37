"""Issue 11, deliverable 6: a stolen signing key makes records that verify but cannot be true.
Real processes: Mosquitto, `learncard gateway run` relaying to the test LRS, and the
`learncard gateway review` and `export` commands.

The thief holds kiosk k-a's signing key (enrolled at venue v-a) and publishes, on k-a's own
topic, 28 check-outs of 1,440 minutes for one learner on one day, a manual attendance by a
staff id not on the roster, records claiming venue v-b, and a check-out without a check-in.
All are stored (their chain positions are real) but held: not relayed, not on the verified
stream, not exported — until county IT accepts one."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import astuple
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway import plausibility
from gateway.county_files import CountyFiles
from gateway.ingest import Ingest
from gateway.lrs import LrsClient
from gateway.store import Store
from gateway.xapi import statement_id
from records.ids import learner_code
from records.record import Record, parse_unverified
from records.rules import RuleBook
from tests.support.county import TestCounty
from tests.support.gateway import KioskChain, payload
from tests.support.lrs import Lrs
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import TestClient
from tests.support.postgres import database
from tests.support.venue import ROOT, GatewayProcess, wait_until

L1, L2, L3 = learner_code(300_000_000_001), learner_code(300_000_000_002), learner_code(300_000_000_003)


@pytest.fixture(scope="module")
def lrs() -> Iterator[Lrs]:
    server = Lrs().start()
    yield server
    server.stop()


def checkin(k: KioskChain, learner: str) -> Record:
    return k.next("attendance.checkin", {"learner": learner, "card": "ab" * 8, "session_id": None, "how": "nfc",
                                         "groups": []})


def checkout(k: KioskChain, learner: str, checkin_id: str, minutes: int, seconds: int) -> Record:
    return k.next("attendance.checkout", {"learner": learner, "card": "ab" * 8, "session_id": None,
                                          "checkin_id": checkin_id, "checkin_time": "2026-11-23T09:02:00.000+08:00",
                                          "seconds_present": seconds, "minutes_credited": minutes, "how": "nfc"})


def rule_checkout(k: KioskChain, learner: str, minutes: int, rule_name: str) -> Record:
    """A self-study check-out of ``minutes`` (present that long) under the named rule."""
    came = checkin(k, learner)
    return k.next("attendance.checkout", {
        "learner": learner, "card": "ab" * 8, "session_id": None, "checkin_id": came.id,
        "checkin_time": "2026-11-23T09:02:00.000+08:00", "seconds_present": minutes * 60,
        "minutes_credited": minutes, "how": "nfc", "v": 2, "rule_name": rule_name})


# the county's credit rules: the default allows 90 minutes of self-study, "long" 480 (720 a day)
RULES_V1 = {"default": "standard", "rules": {
    "standard": {"daily_self_study_cap_minutes": 90},
    "long": {"daily_self_study_cap_minutes": 480, "daily_cap_minutes": 720}}}


def learncard(gateway: GatewayProcess, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "learncard", "gateway", "--config", str(gateway.config), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert 0 == done.returncode, done.stderr
    return done.stdout


def test_a_stolen_key_cannot_credit_what_could_not_have_happened(tmp_path: Path, county: TestCounty,
                                                                  lrs: Lrs) -> None:
    broker = Mosquitto(tmp_path / "broker").start()
    gateway = GatewayProcess(county, tmp_path / "gateway", broker, kiosks={"k-a": "v-a", "k-b": "v-b"},
                             lrs_endpoint=lrs.endpoint)
    (gateway.folder / "staff.jws").write_text(county.staff_roster([
        {"staff_id": "s-0001", "card": "cd" * 8, "role": "staff", "venues": ["v-a"], "pin_hash": "unused"},
    ]).token)
    with open(gateway.config, "a") as conf:  # the [plausibility] bounds reach the gateway process
        conf.write("\n[plausibility]\npresence_slack_minutes = 0\n")
    gateway.start()
    thief = TestClient(broker.port)
    watcher = TestClient(broker.port)
    client = LrsClient(lrs.endpoint, "lc", "secret")
    try:
        assert thief.wait_connected() and watcher.wait_connected()
        watcher.subscribe("lc/v1/verified/#")
        k = KioskChain(county, kiosk="k-a", venue="v-a")
        held: dict[str, set[str]] = {}
        # 28 check-outs of a whole day each, for one learner on one day
        first = checkin(k, L2)
        for _ in range(28):
            rec = checkout(k, L2, first.id, 1440, 86_400)
            held[rec.id] = {"minutes-over-session", "minutes-over-day"}
        # manual attendance by a staff id that is not on the roster
        manual = k.next("attendance.manual", {"learner": L3, "temporary": False, "session_id": None,
                                              "staff_id": "s-9999", "reason": "忘带卡", "minutes_credited": 60})
        held[manual.id] = {"staff-unknown"}
        # records claiming another kiosk's venue
        k.venue = "v-b"
        elsewhere = checkin(k, L1)
        rating = k.next("rating", {"learner": L1, "session_id": None, "score": 5})
        held[elsewhere.id] = held[rating.id] = {"wrong-venue"}
        k.venue = "v-a"
        # a check-out whose check-in never happened (here or at any kiosk of the venue)
        orphan = checkout(k, L1, str(uuid.uuid4()), 30, 1800)
        held[orphan.id] = {"no-checkin"}
        # five minutes more than present: within the default slack of 30, not the configured 0
        again = checkin(k, L3)
        generous = checkout(k, L3, again.id, 65, 3600)
        held[generous.id] = {"minutes-over-presence"}
        # and last, a plausible visit: its statement reaching the LRS shows the relay went past the rest
        good_in = checkin(k, L1)
        good_out = checkout(k, L1, good_in.id, 60, 3600)

        def publish_all() -> bool:  # until the gateway has subscribed; a re-sent record is stored once
            for i in range(0, len(k.made), 10):
                assert thief.publish("lc/v1/k-a/rec", payload(k.made[i:i + 10])) < 128
            time.sleep(1)
            return gateway.count() == len(k.made)

        wait_until("every record stored", publish_all, 90)
        wait_until("the plausible check-out at the LRS", lambda: statement_id(good_out.id) in
                   {s["id"] for s in client.get_all()}, 60)

        at_lrs = {s["id"] for s in client.get_all()}
        assert not {statement_id(r) for r in held} & at_lrs, "a held record was relayed"
        listed = json.loads(learncard(gateway, "review", "list", "--json"))
        reasons = {row["record_id"]: set(row["reasons"].split(",")) for row in listed}
        assert set(held) == set(reasons)
        for record_id, expected in held.items():
            assert expected <= reasons[record_id], (record_id, reasons[record_id])
        store = gateway.store()
        try:
            alerts = store.query("SELECT count(*) FROM alerts WHERE kind = 'implausible'")[0][0]
        finally:
            store.close()
        assert len(held) == alerts
        # no credit-rules document here: the [plausibility] bounds, and the log says so once
        assert 1 == (gateway.folder / "gateway.log").read_text().count("has published no credit rules")
        streamed = set()
        while not watcher.messages.empty():
            streamed |= {parse_unverified(t).id for t in watcher.messages.get().payload.decode().split("\n")}
        assert good_out.id in streamed and not streamed & set(held), "a held record went out as verified"
        exported = {json.loads(line)["id"] for line in learncard(gateway, "export").splitlines() if line.strip()}
        assert good_out.id in exported and not exported & set(held)

        # county IT looks at the manual attendance: the staff member was new; accepted, relayed
        learncard(gateway, "review", "accept", manual.id, "--note", "s-9999 joined this week; roster update due")
        wait_until("the accepted record at the LRS", lambda: statement_id(manual.id) in
                   {s["id"] for s in client.get_all()}, 60)
        assert manual.id in {json.loads(line)["id"] for line in learncard(gateway, "export").splitlines()}
        learncard(gateway, "review", "void", orphan.id, "--note", "no such visit")
        still = {row["record_id"] for row in json.loads(learncard(gateway, "review", "list", "--json"))}
        assert still == set(held) - {manual.id, orphan.id}
        everything = {row["record_id"]: row["state"] for row in
                      json.loads(learncard(gateway, "review", "list", "--all", "--json"))}
        assert ("accepted", "void") == (everything[manual.id], everything[orphan.id])
        assert orphan.id not in {json.loads(line)["id"] for line in learncard(gateway, "export").splitlines()}
        assert statement_id(orphan.id) not in {s["id"] for s in client.get_all()}
    finally:
        thief.close()
        watcher.close()
        gateway.kill()
        broker.kill()


class TestDecisions:
    """The pure rules, one by one (the test above runs them all through real processes)."""

    def test_minutes(self, county: TestCounty) -> None:
        k = KioskChain(county)
        bounds = plausibility.config_bounds(plausibility.Limits(240, 600, 30), None)
        fine = checkout(k, L1, str(uuid.uuid4()), 90, 5400)
        assert [] == plausibility.minutes_problem(fine, bounds, 0, 30)
        assert ["minutes-over-day"] == plausibility.minutes_problem(fine, bounds, 520, 30)
        assert ["minutes-over-presence"] == plausibility.minutes_problem(checkout(k, L1, "x" * 36, 91, 3600),
                                                                         bounds, 0, 30)

    def test_the_rule_bounds_follow_the_named_rule_never_the_records_own_settings(self, county: TestCounty) -> None:
        book = RuleBook.from_body(RULES_V1)
        k = KioskChain(county)
        short, long = rule_checkout(k, L1, 100, "standard"), rule_checkout(k, L1, 100, "long")
        assert (90, 1440) == astuple(plausibility.rule_bounds(short, book, None))  # self-study cap
        assert (480, 720) == astuple(plausibility.rule_bounds(long, book, None))
        assert (60, 720) == astuple(plausibility.rule_bounds(long, book, 60))  # capped at the session
        # a rule the county never published: its default, not whatever the record claims
        assert (90, 1440) == astuple(plausibility.rule_bounds(rule_checkout(k, L1, 100, "lax"), book, None))
        manual = k.next("attendance.manual", {"learner": L3, "temporary": False, "session_id": None,
                                              "staff_id": "s-0001", "reason": "忘带卡", "minutes_credited": 60})
        assert 120 == plausibility.rule_bounds(manual, book, None).session  # the largest minutes offered
        assert 45 == plausibility.rule_bounds(manual, book, 50).session  # within the session's 50

    def test_pairing_needs_the_same_learner_at_the_same_venue(self, county: TestCounty) -> None:
        k = KioskChain(county, venue="v-a")
        out = checkout(k, L1, str(uuid.uuid4()), 30, 1800)
        assert [] == plausibility.pairing_problem(out, (L1, "v-a"))
        assert ["no-checkin"] == plausibility.pairing_problem(out, (L2, "v-a"))
        assert ["no-checkin"] == plausibility.pairing_problem(out, (L1, "v-b"))
        assert ["no-checkin"] == plausibility.pairing_problem(out, None)

    def test_staff_at_a_venue_not_theirs(self, county: TestCounty) -> None:
        k = KioskChain(county, venue="v-b")
        manual = k.next("attendance.manual", {"learner": L3, "temporary": False, "session_id": None,
                                              "staff_id": "s-0001", "reason": "忘带卡", "minutes_credited": 60})
        assert ["staff-venue"] == plausibility.staff_problem(manual, {"s-0001": {"venues": ["v-a"]}})
        assert [] == plausibility.staff_problem(manual, {"s-0001": {"venues": ["*"]}})
        assert ["staff-unknown"] == plausibility.staff_problem(manual, {})


def in_process(tmp_path: Path, county: TestCounty, kiosks: dict[str, str], url: str = "") -> tuple[Store, Ingest]:
    """The gateway's ingest and store in this process (for the ordering cases)."""
    (tmp_path / "registry.jws").write_text(county.registry(kiosks).token)
    files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": tmp_path / "registry.jws"})
    files.load(first=True)
    store = Store.open(url or f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
    return store, Ingest(store, files, lambda: datetime.now(UTC))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "sqlite":
        yield ""
        return
    with database() as url:
        yield url


def test_a_check_out_before_its_check_in_from_another_kiosk_is_released_when_it_arrives(
        tmp_path: Path, county: TestCounty, store_url: str) -> None:
    """Two kiosks at venue v-a: k-c's check-out reaches the gateway before k-a (offline) sends
    the check-in. Held as no-checkin, then released by the check-in itself; a check-out that
    names k-b's check-in at venue v-b stays held."""
    store, ingest = in_process(tmp_path, county, {"k-a": "v-a", "k-c": "v-a", "k-b": "v-b"}, store_url)
    a, c, b = (KioskChain(county, kiosk=k, venue=v) for k, v in (("k-a", "v-a"), ("k-c", "v-a"), ("k-b", "v-b")))
    came_in, elsewhere = checkin(a, L1), checkin(b, L2)
    out = checkout(c, L1, came_in.id, 60, 3600)
    wrong = checkout(c, L2, elsewhere.id, 60, 3600)
    assert [] == ingest.handle("k-c", payload([out, wrong])).verified
    assert {out.id, wrong.id} == {r["record_id"] for r in store.held_records()}
    ingest.handle("k-b", payload([elsewhere]))
    ingest.handle("k-a", payload([came_in]))
    assert [wrong.id] == [r["record_id"] for r in store.held_records()]
    (released,) = [r for r in store.held_records(None) if r["record_id"] == out.id]
    assert "accepted" == released["state"] and "check-in arrived" in released["note"]
    used = {parse_unverified(t).id for _, t in store.records_after(0, 100)}
    assert out.id in used and wrong.id not in used
    assert store.decide(wrong.id, "void", "no such visit") and not store.decide(wrong.id, "accepted", "again")
    assert wrong.id not in {parse_unverified(t).id for _, t in store.records_after(0, 100)}
    # the relay's cursor passed it while it was held: it is sent from the released list, once
    assert [out.id] == [r for r, _ in store.released_behind(10**6)]
    assert [] == store.released_behind(0)
    store.mark_relayed(out.id)
    assert [] == store.released_behind(10**6)
    store.close()


def test_credit_beyond_the_planned_session_is_held(tmp_path: Path, county: TestCounty) -> None:
    """A session planned for 60 minutes: 80 credited (within the 30-minute slack) passes,
    100 is held — though both are under max_session_minutes and the time present."""
    store, ingest = in_process(tmp_path, county, {"k-a": "v-a"})
    k = KioskChain(county, kiosk="k-a", venue="v-a")
    session = str(uuid.uuid4())
    rule = {"min_share_percent": 50, "rounding_minutes": 15, "cap_at_session": True,
            "daily_self_study_cap_minutes": 240}
    recs = [k.next("session.opened", {"session_id": session, "course": "太极拳", "category": "culture",
                                      "staff_id": "s-0001", "planned_start": "2026-11-23T09:00:00.000+08:00",
                                      "planned_end": "2026-11-23T10:00:00.000+08:00", "credit_rule": rule})]
    outs = []
    for learner, minutes in ((L1, 80), (L2, 100)):
        came = k.next("attendance.checkin", {"learner": learner, "card": "ab" * 8, "session_id": session,
                                             "how": "nfc", "groups": []})
        outs.append(k.next("attendance.checkout", {
            "learner": learner, "card": "ab" * 8, "session_id": session, "checkin_id": came.id,
            "checkin_time": "2026-11-23T09:00:00.000+08:00", "seconds_present": 7200,
            "minutes_credited": minutes, "how": "nfc"}))
        recs += [came, outs[-1]]
    ingest.handle("k-a", payload(recs))
    held = {r["record_id"]: r["reasons"] for r in store.held_records()}
    store.close()
    assert {outs[1].id: "minutes-over-session"} == held


def test_the_bounds_are_the_countys_credit_rules_in_force(tmp_path: Path, county: TestCounty) -> None:
    """Real processes. The gateway's [plausibility] bounds say 240 minutes; the county's
    credit rules say 90 for self-study under the default rule and 480 under "long". 120 minutes
    under the default is held though the configuration allows it; 300 under "long" is stored and
    streamed as verified though the configuration's 240 would have held it. Then the county
    publishes version 2 ("long" now 200) while the gateway runs: the next 300 is held."""
    broker = Mosquitto(tmp_path / "broker").start()
    gateway = GatewayProcess(county, tmp_path / "gateway", broker, kiosks={"k-a": "v-a"})
    gateway.put_document(county.credit_rules(RULES_V1))
    with open(gateway.config, "a") as conf:
        conf.write("\n[plausibility]\nmax_session_minutes = 240\nmax_day_minutes = 600\n")
    gateway.start()
    kiosk, watcher = TestClient(broker.port), TestClient(broker.port)
    log = gateway.folder / "gateway.log"
    try:
        assert kiosk.wait_connected() and watcher.wait_connected()
        watcher.subscribe("lc/v1/verified/#")
        k = KioskChain(county, kiosk="k-a", venue="v-a")
        over_rule = rule_checkout(k, L1, 120, "standard")
        over_config = rule_checkout(k, L2, 300, "long")

        def publish(upto: int) -> bool:  # until the gateway has subscribed; a re-sent record is stored once
            assert kiosk.publish("lc/v1/k-a/rec", payload(k.made[:upto])) < 128
            time.sleep(1)
            return gateway.count() == upto

        wait_until("the first records stored", lambda: publish(len(k.made)), 90)
        held = {r["record_id"]: r["reasons"] for r in gateway.store().held_records()}
        assert {over_rule.id: "minutes-over-session"} == held
        streamed: set[str] = set()

        def seen(record_id: str) -> bool:
            while not watcher.messages.empty():
                streamed.update(parse_unverified(t).id for t in watcher.messages.get().payload.decode().split("\n"))
            return record_id in streamed

        wait_until("300 minutes under the long rule streamed as verified", lambda: seen(over_config.id), 60)
        assert over_rule.id not in streamed
        assert "plausibility bounds from credit-rules version 1" in log.read_text()
        assert "has published no credit rules" not in log.read_text()

        gateway.put_document(county.credit_rules({"default": "standard", "rules": {
            **RULES_V1["rules"], "long": {"daily_self_study_cap_minutes": 200}}}, version=2))
        wait_until("credit-rules version 2 loaded", lambda: "loaded credit-rules version 2" in log.read_text(), 60)
        now_over = rule_checkout(k, L3, 300, "long")
        wait_until("the next records stored", lambda: publish(len(k.made)), 90)
        held = {r["record_id"]: r["reasons"] for r in gateway.store().held_records()}
        # the first records came again with the new one: stored before, they are not checked again
        # (300 under "long" stays in use; checked again it would now be held), and the held one
        # is not republished on the verified stream
        assert {over_rule.id: "minutes-over-session", now_over.id: "minutes-over-session"} == held
        seen(over_config.id)
        assert over_rule.id not in streamed and now_over.id not in streamed
    finally:
        kiosk.close()
        watcher.close()
        gateway.kill()
        broker.kill()
