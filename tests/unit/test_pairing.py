"""Pairing an unpaired check-out with its check-in at another kiosk of the venue (records/pairing.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from records.ids import learner_code
from records.pairing import pair
from records.rules import CreditRule
from tests.support.county import TestCounty
from tests.support.gateway import KioskChain

L1 = learner_code(123_456_789_012)
NINE = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in China
RULE = {"min_share_percent": 50, "rounding_minutes": 15, "cap_at_session": True, "daily_self_study_cap_minutes": 240}


def checkin(k: KioskChain, session: str | None = None, learner: str = L1):
    return k.next("attendance.checkin", {"learner": learner, "card": "ab" * 8, "session_id": session, "how": "nfc",
                                         "groups": []})


def unpaired(k: KioskChain, learner: str = L1):
    return k.next("attendance.checkout", {"learner": learner, "card": "ab" * 8, "session_id": None, "checkin_id": None,
                                          "checkin_time": None, "seconds_present": 0, "minutes_credited": 0,
                                          "how": "nfc"})


class TestPair:
    def test_session_rule_credits_the_pair(self) -> None:
        """Check-in at A 09:00, unpaired check-out at B 10:20: 80 minutes present, 75 credited (15-min rounding)."""
        county = TestCounty()
        a = KioskChain(county, kiosk="k-a-1", time=NINE)
        b = KioskChain(county, kiosk="k-b-1", time=NINE + timedelta(minutes=80))
        session = str(uuid.uuid4())
        opened = {"session_id": session, "course": "书法", "planned_start": "2026-11-23T09:00:00.000+08:00",
                  "planned_end": "2026-11-23T10:30:00.000+08:00", "credit_rule": RULE}
        came = checkin(a, session)
        left = unpaired(b)
        found = pair(left, [came, left], {session: opened}, CreditRule())
        assert found is not None
        assert (came.id, "k-a-1", 80 * 60, 75, session) == (
            found.amended["checkin_id"], found.amended["checkin_kiosk"], found.amended["seconds_present"],
            found.amended["minutes_credited"], found.amended["session_id"])

    def test_no_checkin_yet_no_pairing(self) -> None:
        county = TestCounty()
        left = unpaired(KioskChain(county, kiosk="k-b-1", time=NINE))
        later = checkin(KioskChain(county, kiosk="k-a-1", time=NINE + timedelta(minutes=5)))
        other = checkin(KioskChain(county, kiosk="k-a-2", time=NINE - timedelta(minutes=5)),
                        learner=learner_code(1))
        assert pair(left, [left, later, other], {}, CreditRule()) is None

    def test_yesterdays_or_another_venues_checkin_is_not_the_pair(self) -> None:
        county = TestCounty()
        left = unpaired(KioskChain(county, kiosk="k-b-1", time=NINE))
        yesterday = checkin(KioskChain(county, kiosk="k-a-1", time=NINE - timedelta(days=1)))
        elsewhere = checkin(KioskChain(county, kiosk="k-x-1", venue="v-other", time=NINE - timedelta(hours=1)))
        assert pair(left, [left, yesterday, elsewhere], {}, CreditRule()) is None

    def test_a_checkin_ended_by_a_tap_is_taken_an_automatic_end_is_superseded(self) -> None:
        county = TestCounty()
        a = KioskChain(county, kiosk="k-a-1", time=NINE)
        came = checkin(a)
        auto = a.next("attendance.checkout", {"learner": L1, "card": None, "session_id": None, "checkin_id": came.id,
                                              "checkin_time": came.event["time"], "seconds_present": 60,
                                              "minutes_credited": 0, "how": "auto"})
        left = unpaired(KioskChain(county, kiosk="k-b-1", time=NINE + timedelta(hours=2)))
        found = pair(left, [came, auto, left], {}, CreditRule())
        assert found is not None and (auto,) == found.superseded
        assert 120 == found.amended["minutes_credited"]  # self-study, under the 240-minute daily cap
        tapped = KioskChain(county, kiosk="k-a-1", time=NINE + timedelta(hours=1))
        tapped.seq, tapped.head = a.seq, a.head
        tapped_out = tapped.next("attendance.checkout", {"learner": L1, "card": "ab" * 8, "session_id": None,
                                                         "checkin_id": came.id, "checkin_time": came.event["time"],
                                                         "seconds_present": 3600, "minutes_credited": 60,
                                                         "how": "nfc"})
        assert pair(left, [came, tapped_out, left], {}, CreditRule()) is None
