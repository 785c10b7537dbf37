"""The venue's clock, decided purely: which planned sessions open, which sessions close and
which check-ins expire at a given ``now`` (a driven clock, no sleeps)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from kiosk import timetable
from kiosk.journal_state import CheckinRow, SessionRow
from kiosk.timetable import CloseDue, ExpireDue, OpenPlanned, due
from records.programme import rows_to_body

ZONE = ZoneInfo("Asia/Shanghai")
ROW = {"venue": "v-town", "course_id": "phone-basics", "title_zh": "智能手机入门", "title_en": "",
       "category": "science-tech", "form": "workshop", "audience": "elderly", "staff_id": "", "capacity": "",
       "registration": "none", "credit_rule": "standard", "date": "", "weekday": "1", "term_start": "2026-11-01",
       "term_end": "2026-12-31", "start": "09:00", "end": "10:30"}
BODY = rows_to_body([ROW], session_defaults={"checkin_window_minutes": 15, "grace_minutes": 10,
                                              "closing_time": "20:00"})
MONDAY = datetime(2026, 11, 23, tzinfo=ZONE)


def at(hhmm: str, day: datetime = MONDAY) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return day.replace(hour=hours, minute=minutes)


def session(close: datetime, sid: str = "s1") -> SessionRow:
    return SessionRow(sid, "智能手机入门", "science-tech", None, "", "", {}, "", None, 0, "phone-basics@x",
                      timetable.ms(close))


def checkin(learner: str, session_id: str | None, expires: datetime) -> CheckinRow:
    return CheckinRow(learner, "r", "c", session_id, "", 0, "b", timetable.ms(expires))


class TestOpening:
    def test_a_planned_session_opens_at_start_minus_the_window(self) -> None:
        """08:44 nothing; 08:45 open, closing at 10:40 (end + grace)."""
        assert [] == due(at("08:44"), BODY, "v-town", ZONE, [], set(), [])
        (action,) = due(at("08:45"), BODY, "v-town", ZONE, [], set(), [])
        assert isinstance(action, OpenPlanned)
        assert ("phone-basics@2026-11-23T09:00", at("10:40")) == (action.occurrence.key, action.close_at)

    def test_it_opens_once_even_after_a_restart_mid_session(self) -> None:
        """An agent back at 10:00 opens it (late); once opened, never again that day."""
        assert 1 == len(due(at("10:00"), BODY, "v-town", ZONE, [], set(), []))
        assert [] == due(at("10:00"), BODY, "v-town", ZONE, [], {"phone-basics@2026-11-23T09:00"}, [])

    def test_a_session_whose_close_has_passed_is_not_opened(self) -> None:
        """An agent off all morning does not open a session that already ended."""
        assert [] == due(at("10:40"), BODY, "v-town", ZONE, [], set(), [])
        assert [] == due(at("09:00", MONDAY + timedelta(days=1)), BODY, "v-town", ZONE, [], set(), [])
        assert [] == due(at("09:00"), BODY, "v-other", ZONE, [], set(), [])


class TestClosing:
    def test_an_open_session_closes_at_end_plus_grace(self) -> None:
        s = session(at("10:40"))
        assert [] == due(at("10:39"), BODY, "v-town", ZONE, [s], {"phone-basics@2026-11-23T09:00"}, [])
        assert [CloseDue("s1", at("10:40"))] == due(at("10:40"), None, "v-town", ZONE, [s], set(), [])

    def test_a_session_opened_a_minute_closes_itself(self) -> None:
        """The fault of issue 12: a 1-minute session stayed open for ever."""
        s = session(at("12:01"), "short")
        assert [CloseDue("short", at("12:01"))] == due(at("18:00"), None, "v-town", ZONE, [s], set(), [])


class TestExpiry:
    def test_self_study_expires_at_closing_time(self) -> None:
        c = checkin("1", None, timetable.self_study_expiry(at("14:00"), BODY, ZONE))
        assert [] == due(at("19:59"), BODY, "v-town", ZONE, [], set(), [c])
        assert [ExpireDue("1", at("20:00"))] == due(at("20:00"), BODY, "v-town", ZONE, [], set(), [c])

    def test_after_closing_a_check_in_lasts_until_midnight(self) -> None:
        assert at("00:00", MONDAY + timedelta(days=1)) == timetable.self_study_expiry(at("20:30"), BODY, ZONE)

    def test_yesterdays_check_in_is_expired_before_today_starts(self) -> None:
        """Caught up at once when the agent was off at closing time."""
        c = checkin("1", None, at("20:00"))
        assert [ExpireDue("1", at("20:00"))] == due(at("08:00", MONDAY + timedelta(days=1)), None, "v-town", ZONE,
                                                    [], set(), [c])

    def test_a_check_in_of_an_open_session_waits_for_its_close(self) -> None:
        s = session(at("10:40"))
        c = checkin("1", "s1", at("10:40"))
        assert [CloseDue("s1", at("10:40"))] == due(at("11:00"), None, "v-town", ZONE, [s], set(), [c])
