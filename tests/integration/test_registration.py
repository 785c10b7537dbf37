"""Registration at the kiosk, offline: "报名" then the card; a place while any is left, then
the waiting list; cancelling frees the place for the first who waits; staff see registered
vs present. Every record validates against its schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.errors import ControlError
from records import programme
from records.registration import Enrollment, Outcome, settle
from tests.integration.test_agent import journal_records
from tests.integration.test_agent_staff import login
from tests.support.county import TestCounty
from tests.support.kiosk import KioskSetup, register

ROW = {"venue": "v-test", "course_id": "calligraphy", "title_zh": "书法", "title_en": "Calligraphy",
       "category": "humanities-arts", "form": "practice", "audience": "elderly", "staff_id": "", "capacity": "2",
       "registration": "term", "credit_rule": "standard", "date": "", "weekday": "3", "term_start": "2026-11-01",
       "term_end": "2026-12-31", "start": "09:00", "end": "10:30"}
WALK_IN = {**ROW, "course_id": "tai-chi", "title_zh": "太极拳", "registration": "none", "capacity": ""}


@pytest.fixture
def kiosk(tmp_path: Path, county: TestCounty) -> tuple[KioskSetup, object]:
    setup = KioskSetup(county, tmp_path / "kiosk")
    setup.set("kiosk", "driven_clock", "2026-11-23T08:00:00+08:00")  # a Monday; the course is on Wednesdays
    setup.set("rules", "debounce_seconds", 0)
    staff_card = county.credential(staff=True, name="李*")
    setup.put_document(setup.staff_roster({"s-0001": staff_card}))
    setup.put_document(county.programme(programme.rows_to_body([ROW, WALK_IN])))
    return setup, staff_card


def test_register_wait_cancel_and_promote(kiosk, county: TestCounty) -> None:
    setup, staff_card = kiosk
    a, b, c_, d = (county.credential() for _ in range(4))
    with setup.running() as app:
        c = setup.client()
        listed = c.call("register.courses")["courses"]
        assert [("calligraphy", "term", "2026-11-25", 2, 0)] == [
            (x["course_id"], x["scope"], x["day"], x["capacity"], x["registered"]) for x in listed]
        with pytest.raises(ControlError):
            c.call("register.arm", course_id="tai-chi", scope="term")  # walk-in course: no registration
        assert "registered" == register(c, county, a)["outcome"]
        assert "already-registered" == register(c, county, a)["outcome"]
        assert "registered" == register(c, county, b)["outcome"]
        full = register(c, county, c_)
        assert ("waiting", 1) == (full["outcome"], full["place"])
        assert "您在候补名单第 1 位" in full["message"]["zh_CN"]
        waiting = register(c, county, d)
        assert ("waiting", 2) == (waiting["outcome"], waiting["place"])
        assert c.call("register.courses")["courses"][0]["full"]
        cancelled = register(c, county, a, "cancel")
        assert "cancelled" == cancelled["outcome"] and cancelled["promoted"].endswith(c_.learner_code[-4:])
        assert "not-registered" == register(c, county, a, "cancel")["outcome"]
        assert "checkin" == c.call("tap", text=county.qr(a))["outcome"]  # not armed: an ordinary tap again

        c.call("clock.advance", seconds=2 * 86400)  # Wednesday 08:00: the session opens itself at 08:45
        c.call("clock.advance", seconds=50 * 60)
        token = login(c, county, staff_card)
        (session,) = [s for s in c.call("session.list")["sessions"] if s["course_id"] == "calligraphy"]
        c.call("tap", text=county.qr(b))
        roster = c.call("roster", token=token, session_id=session["session_id"])
        assert 2 == roster["count_registered"]
        assert {(b.learner_code[-4:], True), (c_.learner_code[-4:], False)} == {
            (r["learner_masked"][-4:], r["present"]) for r in roster["registered"] if r["status"] == "registered"}
        choices = c.call("manual.choices", token=token, session_id=session["session_id"])
        assert {b.learner_code, c_.learner_code} == {r["learner_code"] for r in choices["registered"]}
        enrollments = [r.data for r in journal_records(app) if r.type == "enrollment"]
        assert ["registered", "registered", "waiting", "waiting", "cancelled", "registered"] == [
            e["status"] for e in enrollments]
        assert all(e["staff_id"] is None and e["scope"] == "term" for e in enrollments)
        c.close()
    with setup.running():  # the lists survive a restart
        c = setup.client()
        assert 2 == c.call("register.courses")["courses"][0]["registered"]
        c.close()


class TestSettlement:
    """Over-booking across kiosks of one venue, settled at the gateway."""

    def test_the_earliest_requests_hold_the_places(self) -> None:
        records = [Enrollment("x", "registered", "2026-11-23T09:00:05+08:00", "r3"),  # kiosk 2, offline
                   Enrollment("y", "registered", "2026-11-23T09:00:01+08:00", "r1"),  # kiosk 1
                   Enrollment("z", "registered", "2026-11-23T09:00:03+08:00", "r2")]  # kiosk 1
        assert {"y": Outcome("registered", 0), "z": Outcome("registered", 0),
                "x": Outcome("waiting", 1)} == settle(records, 2)

    def test_a_cancel_frees_a_place_and_a_new_request_goes_to_the_back(self) -> None:
        records = [Enrollment("y", "registered", "t1", "a"), Enrollment("z", "registered", "t2", "b"),
                   Enrollment("x", "waiting", "t3", "c"), Enrollment("y", "cancelled", "t4", "d"),
                   Enrollment("y", "registered", "t5", "e")]
        assert {"z": Outcome("registered", 0), "x": Outcome("registered", 0),
                "y": Outcome("waiting", 1)} == settle(records, 2)
        assert all(o.status == "registered" for o in settle(records, None).values())
