"""A simulated venue week (issue 12): the county's programme of 4 courses over 5 days at 2
venues, 40 residents with scripted taps — on time, late, leaving early, forgetting to check
out, tapping twice, self-study, registering, cancelling, a full course — one agent restart
and one power cut mid-week. Real processes: Mosquitto, the gateway, one kiosk agent per
venue, each on a driven clock (no sleeps).

The expected credited minutes are computed by hand, once per kind of attendance
(``MINUTES`` below, with the arithmetic in the comments); ``WEEK`` says who did what on which
day. The gateway's store must hold exactly those minutes for every learner, day and course;
every session must be closed by the clock; no check-in may stay open past its day."""

from __future__ import annotations

import signal
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.service_hours import service_hours
from records import programme
from records.record import parse_time
from records.rules import RuleBook
from tests.support.county import TestCounty
from tests.support.driven_agent import DrivenAgent, credited, stored_after_drain
from tests.support.kiosk import KioskSetup, register
from tests.support.mosquitto import Mosquitto
from tests.support.venue import GatewayProcess

DAYS = {"mon": "2026-11-23", "tue": "2026-11-24", "wed": "2026-11-25", "thu": "2026-11-26", "fri": "2026-11-27"}
BASE = {"title_en": "", "capacity": "", "registration": "none", "date": "", "term_start": "2026-11-01",
        "term_end": "2026-12-31"}
ROWS = [
    *[{**BASE, "venue": "v-town", "course_id": "phone", "title_zh": "智能手机入门", "category": "science-tech",
       "form": "workshop", "audience": "elderly", "staff_id": "t-li", "credit_rule": "standard", "weekday": d,
       "start": "09:00", "end": "10:30", "capacity": "20", "registration": "term"} for d in ("1", "3", "5")],
    *[{**BASE, "venue": "v-town", "course_id": "calligraphy", "title_zh": "书法", "category": "humanities-arts",
       "form": "practice", "audience": "all", "staff_id": "t-wang", "credit_rule": "generous", "weekday": d,
       "start": "14:00", "end": "15:30", "capacity": "3", "registration": "session"} for d in ("2", "4")],
    *[{**BASE, "venue": "v-village", "course_id": "taichi", "title_zh": "太极拳", "category": "sports-fitness",
       "form": "practice", "audience": "all", "staff_id": "", "credit_rule": "capped", "weekday": d,
       "start": "07:00", "end": "08:00"} for d in ("1", "2", "3", "4", "5")],
    {**BASE, "venue": "v-village", "course_id": "health", "title_zh": "养生保健讲座", "category": "health",
     "form": "lecture", "audience": "elderly", "staff_id": "", "credit_rule": "standard", "weekday": "3",
     "start": "15:00", "end": "16:30"},
]
RULES = {"default": "standard", "rules": {
    "standard": {},                                              # 50 %, 15-min steps down, nothing if forgotten
    "generous": {"rounding_minutes": 5, "no_checkout": "planned"},  # a forgotten check-out earns the plan
    "capped": {"rounding_minutes": 5, "session_cap_minutes": 45},   # never more than 45 a session
}}

# kind of attendance → (tap times, minutes credited, computed by hand)
MINUTES = {
    # phone, 09:00–10:30 (90 min planned), rule "standard"
    "P_FULL": (("08:55", "10:30"), 90),    # 95 min present, capped at the planned 90
    "P_LATE": (("09:40", "10:30"), 45),    # 50 min ≥ 45 (50 %); 50 → 45 (15-min steps down)
    "P_EARLY": (("09:00", "09:40"), 0),    # 40 min < 45 (50 % of 90)
    "P_HALF": (("09:00", "09:45"), 45),    # exactly 50 %: 45
    "P_TWICE": (("09:00", "09:01", "10:00"), 60),  # the 09:01 tap is a repeat (debounce 120 s); 60 min
    "P_FORGET": (("09:00",), 0),           # expired at the close (10:40): "standard" credits nothing
    # calligraphy, 14:00–15:30 (90 planned), rule "generous"
    "C_FULL": (("13:55", "15:30"), 90),    # 95 → capped 90
    "C_LATE": (("14:20", "15:30"), 70),    # 70 ≥ 45; 5-min steps: 70
    "C_EARLY": (("14:00", "14:40"), 0),    # 40 < 45
    "C_FORGET": (("14:00",), 90),          # expired at 15:40: "generous" credits the planned 90
    # taichi, 07:00–08:00 (60 planned), rule "capped"
    "T_FULL": (("06:50", "08:00"), 45),    # 70 min → planned 60 → session cap 45
    "T_LATE": (("07:25", "08:00"), 35),    # 35 ≥ 30; 35
    "T_FORGET": (("07:00",), 0),           # expired at 08:10: nothing
    # health, 15:00–16:30 (90 planned), rule "standard"
    "H_FULL": (("14:55", "16:30"), 90),
    "H_LATE": (("15:40", "16:30"), 45),    # 50 → 45
    # self-study at the town venue (no session open), the default rule "standard"
    "S_2H": (("11:00", "13:00"), 120),     # 120 min, under the 240 self-study cap
    "S_FORGET": (("11:00",), 0),           # expired at closing time (20:00): nothing
}
COURSE = {"P": "phone", "C": "calligraphy", "T": "taichi", "H": "health", "S": "self-study"}


def people(prefix: str, first: int, last: int) -> list[str]:
    return [f"{prefix}{n:02d}" for n in range(first, last + 1)]


# day → [(kind, residents)]; T01–T24 live near the town school, V01–V16 near the village station
WEEK = {
    "mon": [("P_FULL", people("T", 1, 6)), ("P_LATE", people("T", 7, 9)), ("P_EARLY", people("T", 10, 11)),
            ("P_FORGET", people("T", 12, 13)), ("P_TWICE", ["T14"]), ("P_HALF", ["T15"]),
            ("S_2H", people("T", 16, 18)), ("S_FORGET", ["T19"]),
            ("T_FULL", people("V", 1, 8)), ("T_LATE", people("V", 9, 10)), ("T_FORGET", ["V11"])],
    "tue": [("C_FULL", [*people("T", 1, 4), "T20", "T22", "T23"]), ("C_LATE", people("T", 5, 6)),
            ("C_FORGET", ["T07"]), ("C_EARLY", ["T08"]),
            ("T_FULL", people("V", 1, 8)), ("T_LATE", people("V", 9, 10))],
    "wed": [("P_FULL", people("T", 1, 10)), ("P_FORGET", people("T", 11, 12)), ("P_LATE", ["T13"]),
            ("T_FULL", people("V", 1, 8)), ("H_FULL", people("V", 12, 14)), ("H_LATE", people("V", 15, 16))],
    "thu": [("C_FULL", people("T", 1, 3)), ("C_FORGET", ["T09"]), ("C_LATE", ["T10"]),
            ("T_FULL", people("V", 1, 8)), ("T_FORGET", ["V11"])],
    "fri": [("P_FULL", people("T", 1, 5)), ("P_HALF", ["T06"]), ("S_2H", ["T16"]), ("S_FORGET", ["T17"]),
            ("T_FULL", people("V", 1, 8))],
}
# Monday 08:00 at the town school: five register for Tuesday's calligraphy (3 places); T21 cancels
REGISTRATIONS = [("T20", "register", "registered"), ("T21", "register", "registered"),
                 ("T22", "register", "registered"), ("T23", "register", "waiting"),
                 ("T24", "register", "waiting"), ("T21", "cancel", "cancelled")]


def expected() -> dict[str, dict[tuple[str, str], int]]:
    table: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    for day, lines in WEEK.items():
        for kind, who in lines:
            for name in who:
                table[name][(DAYS[day], COURSE[kind[0]])] = MINUTES[kind][1]
    return dict(table)


def script(day: str, venue: str) -> list[tuple[str, str]]:
    """(hh:mm, resident) taps at one venue on one day, in time order."""
    taps = [(at, name) for kind, who in WEEK[day] if (kind[0] in "PCS") == (venue == "v-town")
            for name in who for at in MINUTES[kind][0]]
    return sorted(taps)


@pytest.fixture
def week(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto):
    gateway = GatewayProcess(county, tmp_path / "gateway", mosquitto,
                             kiosks={"k-town": "v-town", "k-village": "v-village"}).start()
    body = programme.rows_to_body(ROWS, rules=set(RULES["rules"]), session_defaults={
        "checkin_window_minutes": 15, "grace_minutes": 10, "closing_time": "20:00"})
    agents = {}
    for kiosk, venue_id in (("k-town", "v-town"), ("k-village", "v-village")):
        setup = KioskSetup(county, tmp_path / kiosk, kiosk_id=kiosk, venue=venue_id)
        setup.values["uplink"] = {"host": "127.0.0.1", "port": mosquitto.port, "resend_after_seconds": 3}
        setup.put_document(county.programme(body))
        setup.put_document(county.credit_rules(RuleBook.from_body(RULES).body()))
        agents[venue_id] = DrivenAgent(setup, "2026-11-23T06:00:00+08:00")
    yield gateway, agents
    for agent in agents.values():
        if agent.proc is not None and agent.proc.poll() is None:
            agent.stop(signal.SIGKILL)
    gateway.kill()


def test_a_venue_week(week, county: TestCounty) -> None:
    gateway, agents = week
    cards = {name: county.credential() for name in [*people("T", 1, 24), *people("V", 1, 16)]}
    town, village = agents["v-town"].start(), agents["v-village"].start()

    town.go("08:00", DAYS["mon"])
    (course,) = [c for c in town.call("register.courses")["courses"]
                 if c["course_id"] == "calligraphy" and c["day"] == DAYS["tue"]]
    assert ("calligraphy@2026-11-24T14:00", 3) == (course["scope"], course["capacity"])
    for name, action, outcome in REGISTRATIONS:
        assert outcome == register(town, county, cards[name], action, "calligraphy", course["scope"])["outcome"], name

    faults = {("wed", "v-town", "10:30"), ("thu", "v-village", "08:00")}  # before the first tap then
    for day, date in DAYS.items():
        for venue, agent in (("v-town", town), ("v-village", village)):
            for at, name in script(day, venue):
                fault = (day, venue, at) if (day, venue, at) in faults else None
                faults.discard((day, venue, at))
                if fault == ("wed", "v-town", "10:30"):  # a power cut at 10:00, back at 10:10
                    agent.go("10:00", date)
                    agent.stop(signal.SIGKILL)
                    agent.now = f"{date}T10:10:00+08:00"
                    agent.start()
                if fault == ("thu", "v-village", "08:00"):  # an orderly restart at 07:30
                    agent.go("07:30", date)
                    agent.stop(signal.SIGTERM)
                    agent.now = f"{date}T07:31:00+08:00"
                    agent.start()
                agent.go(at, date)
                outcome = agent.tap(county, cards[name])
                assert outcome in ("checkin", "checkout", "duplicate"), (day, at, name, outcome)
            agent.go("21:00", date)  # past closing time: the day is over
            assert not [s for s in agent.call("session.list")["sessions"] if not s["closed"]], (day, venue)

    recs = stored_after_drain(gateway, [town, village])
    name_of = {c.learner_code: name for name, c in cards.items()}
    assert not faults
    assert expected() == credited(recs, name_of)

    # every planned session of the week opened once by the clock and closed by it
    opened = [r for r in recs if r.type == "session.opened"]
    closed = {r.data["session_id"]: r for r in recs if r.type == "session.closed"}
    assert 3 + 2 + 5 + 1 == len(opened) == len(closed)
    assert {"programme"} == {r.data["how"] for r in opened}
    assert {None} == {r.data["staff_id"] for r in closed.values()}
    # no check-in outlives its day
    checkouts = {r.data["checkin_id"]: r for r in recs if r.type == "attendance.checkout"}
    for c in (r for r in recs if r.type == "attendance.checkin"):
        out = checkouts[c.id]
        end = parse_time(out.data["checkin_time"]) + timedelta(seconds=out.data["seconds_present"])
        assert c.event["time"][:10] == end.isoformat()[:10] == out.event["time"][:10]
    # repeated taps made no records: P_TWICE's three taps are one check-in and one check-out
    assert 2 == sum(1 for r in recs if r.type.startswith("attendance.") and name_of.get(r.data["learner"]) == "T14")
    # registration: the records in order, and Tuesday's session knew who registered
    enrollments = [(name_of[r.data["learner"]], r.data["status"]) for r in recs if r.type == "enrollment"]
    assert [("T20", "registered"), ("T21", "registered"), ("T22", "registered"), ("T23", "waiting"),
            ("T24", "waiting"), ("T21", "cancelled"), ("T23", "registered")] == enrollments
    # service hours: t-li ran three phone sessions, t-wang two calligraphy sessions, 08:45/13:45 →
    # 10:40/15:40 each (115 min; Wednesday's was closed on time although the kiosk was off until
    # 10:10 — it was back before the close)
    assert [("t-li", 3, 5.75), ("t-wang", 2, 3.83)] == [
        (r["staff_id"], r["sessions"], r["service_hours"]) for r in service_hours(recs, {})]
