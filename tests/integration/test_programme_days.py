"""Two venues' days run by the county's programme, with real processes — a Mosquitto, the
gateway, two kiosk agents (`learncard kiosk agent`) on driven clocks — one power cut and one
agent restart. Residents tap on time, late, leave early, forget to check out and tap twice;
the gateway must hold exactly the hand-computed credited minutes below, every session must
be closed by the clock, and no check-in stays open past its day.

(A smaller scenario than issue 12's full venue week: 2 days, 2 venues, 7 residents.)"""

from __future__ import annotations

import signal
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.service_hours import service_hours
from records import programme
from records.record import parse_time
from records.rules import RuleBook
from tests.support.county import TestCounty
from tests.support.driven_agent import DrivenAgent, credited, stored_after_drain
from tests.support.kiosk import KioskSetup
from tests.support.mosquitto import Mosquitto
from tests.support.venue import GatewayProcess

START = "2026-11-23T08:00:00+08:00"  # a Monday
BASE = {"title_en": "", "staff_id": "", "capacity": "", "registration": "none", "weekday": "", "term_start": "",
        "term_end": ""}
ROWS = [
    {**BASE, "venue": "v-town", "course_id": "phone", "title_zh": "智能手机入门", "category": "science-tech",
     "form": "workshop", "audience": "elderly", "staff_id": "t-li", "credit_rule": "standard",
     "date": day, "start": "09:00", "end": "10:30"} for day in ("2026-11-23", "2026-11-24")
] + [
    {**BASE, "venue": "v-village", "course_id": "taichi", "title_zh": "太极拳", "category": "sports-fitness",
     "form": "practice", "audience": "all", "credit_rule": "generous", "date": "2026-11-23",
     "start": "15:00", "end": "16:00"},
]
RULES = {"default": "standard", "rules": {
    "standard": {},  # 50 % of the planned time, 15-minute steps down, nothing for a forgotten check-out
    "generous": {"rounding_minutes": 5, "no_checkout": "planned"},
}}
# learner → {(day, course or "self-study"): minutes}, computed by hand from the script below
EXPECTED = {
    "A": {("2026-11-23", "phone"): 90},       # 08:50 → 10:20: 90 min present, capped at the planned 90
    "B": {("2026-11-23", "phone"): 0},        # 09:30 → 10:00: 30 of 90 min < 50 %
    "C": {("2026-11-23", "phone"): 0},        # 09:10, never out; the power cut hides the close: expired, nothing
    "D": {("2026-11-23", "phone"): 60},       # 09:05, again at 09:06 (repeat, no record), out 10:10: 65 → 60
    "E": {("2026-11-23", "self-study"): 0,    # 14:00 self-study, never out: expired at closing time, nothing
          ("2026-11-24", "phone"): 90},       # next day's tap checks in (not out of yesterday); 09:00 → 10:30
    "F": {("2026-11-23", "taichi"): 60},      # 14:50, never out: the "generous" rule credits the planned 60
    "G": {("2026-11-23", "taichi"): 40},      # 15:00 → 15:40: 40 min (≥ 50 %), 5-minute steps
}


@pytest.fixture
def venue(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto):
    gateway = GatewayProcess(county, tmp_path / "gateway", mosquitto,
                             kiosks={"k-town": "v-town", "k-village": "v-village"}).start()
    agents = {}
    for kiosk, venue_id in (("k-town", "v-town"), ("k-village", "v-village")):
        setup = KioskSetup(county, tmp_path / kiosk, kiosk_id=kiosk, venue=venue_id)
        setup.values["uplink"] = {"host": "127.0.0.1", "port": mosquitto.port, "resend_after_seconds": 3}
        setup.put_document(county.programme(programme.rows_to_body(ROWS, rules={"standard", "generous"}, session_defaults={
            "checkin_window_minutes": 15, "grace_minutes": 10, "closing_time": "20:00"})))
        setup.put_document(county.credit_rules(RuleBook.from_body(RULES).body()))
        agents[kiosk] = DrivenAgent(setup, START)
    yield gateway, agents
    for agent in agents.values():
        if agent.proc is not None and agent.proc.poll() is None:
            agent.stop(signal.SIGKILL)
    gateway.kill()


def test_two_days_at_two_venues(venue, county: TestCounty) -> None:
    gateway, agents = venue
    people = {name: county.credential() for name in EXPECTED}
    town, village = agents["k-town"].start(), agents["k-village"].start()
    t = lambda when, name, day="2026-11-23": (town.go(when, day), town.tap(county, people[name]))[1]  # noqa: E731
    v = lambda when, name: (village.go(when), village.tap(county, people[name]))[1]  # noqa: E731

    assert [] == town.call("session.list")["sessions"]        # 08:00: nothing planned yet
    town.go("08:45")                                         # start − 15 min: the session opens itself
    assert ["智能手机入门"] == [s["course"] for s in town.call("session.list")["sessions"]]
    assert "checkin" == t("08:50", "A")
    assert "checkin" == t("09:05", "D")
    assert "duplicate" == t("09:06", "D")
    assert "checkin" == t("09:10", "C")
    assert "checkin" == t("09:30", "B")
    assert "checkout" == t("10:00", "B")
    assert "checkout" == t("10:10", "D")
    assert "checkout" == t("10:20", "A")
    town.go("10:25")
    town.stop(signal.SIGKILL)                                 # power cut before the 10:40 close
    town.now = "2026-11-23T12:00:00+08:00"
    town.start()                                              # back at noon: the missed close is caught up
    assert all(s["closed"] for s in town.call("session.list")["sessions"])
    assert "checkin" == t("14:00", "E")                      # no session: self-study

    assert "checkin" == v("14:50", "F")
    assert "checkin" == v("15:00", "G")
    village.go("15:30")
    village.stop(signal.SIGTERM)                              # an orderly restart mid-session
    village.now = "2026-11-23T15:30:00+08:00"
    village.start()
    assert "checkout" == v("15:40", "G")
    village.go("16:30")                                       # closed at 16:10 by the clock

    town.go("20:30")                                         # E's check-in expired at 20:00, closing time
    town.go("08:45", "2026-11-24")
    town.go("09:00", "2026-11-24")
    assert "checkin" == town.tap(county, people["E"])         # a new check-in, not yesterday's check-out
    assert "checkout" == t("10:30", "E", "2026-11-24")
    town.go("11:00", "2026-11-24")

    recs = stored_after_drain(gateway, [town, village])
    learner_name = {c.learner_code: name for name, c in people.items()}
    assert EXPECTED == credited(recs, learner_name)

    opened = [r for r in recs if r.type == "session.opened"]
    closed = [r for r in recs if r.type == "session.closed"]
    assert 3 == len(opened) == len(closed)                    # every session closed, by the clock
    assert {None} == {r.data["staff_id"] for r in closed}
    assert {("phone", "t-li"), ("taichi", None)} == {(r.data["course_id"], r.data["staff_id"]) for r in opened}
    assert {"programme"} == {r.data["how"] for r in opened}
    checkins = [r for r in recs if r.type == "attendance.checkin"]
    checkouts = {r.data["checkin_id"]: r for r in recs if r.type == "attendance.checkout"}
    assert len(checkins) == len(checkouts)                    # no check-in left open
    for c in checkins:                                        # each closed on its own day
        out = checkouts[c.id]
        assert c.event["time"][:10] == out.event["time"][:10]
        end = parse_time(out.data["checkin_time"]) + timedelta(seconds=out.data["seconds_present"])
        assert c.event["time"][:10] == end.isoformat()[:10]
    # service hours: t-li ran both phone sessions, 08:45 → 10:40 each (the first closed late, after
    # the power cut, but credited to its due time); the tai-chi session had no one assigned
    assert [{"staff_id": "t-li", "role": "teacher", "sessions": 2, "service_hours": 3.83}] == \
        service_hours(recs, {"t-li": "teacher"})
    expired = sorted(learner_name[r.data["learner"]] for r in checkouts.values() if r.data["how"] == "expired")
    assert ["C", "E", "F"] == expired
