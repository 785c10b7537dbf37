"""What the venue's clock asks for now: planned sessions to open, sessions to close, check-ins
to expire. Pure: takes ``now``, the programme and the journal's state rows, returns actions;
:class:`kiosk.sessions.VenueOps` carries them out. Running it again changes nothing, so the
agent runs it every tick, before every tap and at start (after a restart or a power cut it
catches up on everything that fell due while it was off)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from kiosk.journal_state import CheckinRow, SessionRow
from records import programme
from records.record import parse_time


@dataclass(frozen=True)
class OpenPlanned:
    occurrence: programme.Occurrence
    close_at: datetime


@dataclass(frozen=True)
class CloseDue:
    session_id: str
    close_at: datetime


@dataclass(frozen=True)
class ExpireDue:
    learner: str
    expires_at: datetime


Action = OpenPlanned | CloseDue | ExpireDue


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(value: int, zone: tzinfo) -> datetime:
    return datetime.fromtimestamp(value / 1000, zone)


def session_close_at(planned_end: datetime, body: dict[str, Any] | None) -> datetime:
    """A session closes itself at its planned end plus the programme's grace."""
    return planned_end + programme.window(body)[1]


def self_study_expiry(checkin: datetime, body: dict[str, Any] | None, zone: tzinfo) -> datetime:
    """A self-study check-in expires at the venue's closing time that day (or at midnight
    when it was made after closing)."""
    local = checkin.astimezone(zone)
    closing = programme.closing_time(body, local.date(), zone)
    if local < closing:
        return closing
    return datetime.combine(local.date() + timedelta(days=1), time(0), zone)


def due(now: datetime, body: dict[str, Any] | None, venue: str, zone: tzinfo, open_sessions: list[SessionRow],
        opened: set[str], checkins: list[CheckinRow]) -> list[Action]:
    """Everything that is due at ``now``: closings and expiries first, then openings."""
    actions: list[Action] = []
    now_ms = ms(now)
    closing: set[str] = set()
    for s in open_sessions:
        if s.close_ms is not None and now_ms >= s.close_ms:
            actions.append(CloseDue(s.session_id, from_ms(s.close_ms, zone)))
            closing.add(s.session_id)
    open_ids = {s.session_id for s in open_sessions} - closing
    for c in checkins:
        if c.session_id in open_ids or c.session_id in closing:
            continue  # its session's closing takes care of it
        if c.expires_ms is not None and now_ms >= c.expires_ms:
            actions.append(ExpireDue(c.learner, from_ms(c.expires_ms, zone)))
    before, _after = programme.window(body)
    for occ in programme.occurrences(body, venue, now.astimezone(zone).date(), zone):
        close_at = session_close_at(occ.end, body)
        if occ.key not in opened and occ.start - before <= now < close_at:
            actions.append(OpenPlanned(occ, close_at))
    return actions


def planned_seconds(s: SessionRow) -> int:
    return max(0, int((parse_time(s.planned_end) - parse_time(s.planned_start)).total_seconds()))
