"""The kiosk's decisions over a real journal file and a driven clock, without processes:
the faults issue 12 measured on the old code."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from kiosk.clock import DrivenClock
from kiosk.county_docs import CountyDocuments
from kiosk.journal import Journal
from kiosk.reader.base import CardRead
from kiosk.registration import Registrations
from kiosk.sessions import VenueOps
from kiosk.signer import Signer
from kiosk.taps import TapRules, Taps
from records import keys, programme, record
from records.record import parse_unverified
from tests.support.county import TestCounty

ROW = {"venue": "v-test", "course_id": "phone", "title_zh": "智能手机入门", "title_en": "", "category": "science-tech",
       "form": "workshop", "audience": "elderly", "staff_id": "", "capacity": "", "registration": "none",
       "credit_rule": "standard", "date": "2026-11-24", "weekday": "", "term_start": "", "term_end": "",
       "start": "09:00", "end": "10:30"}


class Venue:
    def __init__(self, folder: Path, county: TestCounty) -> None:
        self.county = county
        self.clock = DrivenClock("Asia/Shanghai", datetime.fromisoformat("2026-11-23T10:00:00+08:00"))
        self.journal = Journal.open(folder / "journal.sqlite3")
        docs = CountyDocuments(folder, county.county_id, keys.public_key_from_text(county.issuer_public))
        docs.update("programme", county.programme(programme.rows_to_body([ROW])).token)
        signer = Signer(county.kiosk_key("k-test-1"), record.Origin("k-test-1", "v-test", 1, self.clock.bootid),
                        self.clock)
        self.taps = Taps(self.journal, signer, docs, self.clock, TapRules(debounce_seconds=120))
        self.ops = VenueOps(self.taps, "v-test")
        self.ops.registrations = self.taps.registrations = Registrations(self.taps, "v-test")

    def tap(self, cred: object) -> dict:
        self.ops.catch_up()  # as the agent does before every tap
        return self.taps.handle(CardRead("qr", "test", text=self.county.qr(cred)))

    def advance(self, hours: float) -> None:
        self.clock.advance(hours * 3600)
        self.ops.catch_up()

    def records(self) -> list:
        rows = self.journal.conn.execute("SELECT token FROM records ORDER BY epoch, seq").fetchall()
        return [parse_unverified(r[0]) for r in rows]


@pytest.fixture
def venue(tmp_path: Path, county: TestCounty) -> Venue:
    v = Venue(tmp_path, county)
    yield v
    v.journal.close()


def test_a_forgotten_self_study_check_out_earns_nothing(venue: Venue, county: TestCounty) -> None:
    """Old code: the next day's tap checked out after 20 h and credited the 240-minute cap."""
    resident = county.credential()
    assert "checkin" == venue.tap(resident)["outcome"]  # Monday 10:00, self-study
    venue.advance(23)  # Tuesday 09:00: the phone session is open; Monday's check-in expired at 21:00
    second = venue.tap(resident)
    assert "checkin" == second["outcome"] and second["session"]["course"] == "智能手机入门"
    (expired,) = [r for r in venue.records() if r.type == "attendance.checkout"]
    assert ("expired", 0, 11 * 3600) == (expired.data["how"], expired.data["minutes_credited"],
                                         expired.data["seconds_present"])


def test_a_session_closes_itself_and_a_later_tap_never_closes_it(venue: Venue, county: TestCounty) -> None:
    """Old code: a session stayed open after its end, and the next tap checked out of it."""
    resident = county.credential()
    venue.advance(22.75)  # Tuesday 08:45: opened by the clock
    assert "checkin" == venue.tap(resident)["outcome"]
    venue.advance(2)  # 10:45: closed at 10:45 (end + 15 min grace)
    assert [] == venue.journal.state.open_sessions()
    later = venue.tap(resident)
    assert "checkin" == later["outcome"] and later["session"] is None
    types = [(r.type, r.data.get("how"), r.data.get("staff_id", "-")) for r in venue.records()]
    assert [("session.opened", "programme", None), ("attendance.checkin", "qr", "-"),
            ("attendance.checkout", "expired", "-"), ("session.closed", None, None),
            ("attendance.checkin", "qr", "-")] == types
