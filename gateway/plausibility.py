"""Plausibility of verified records: what a stolen signing key could still make up.

A record whose signature verifies is what the kiosk's key signed — not necessarily what
happened. After each message's records are stored, every one is checked here:

- ``wrong-venue``: the record names a venue other than its kiosk's enrolled venue;
- ``staff-unknown`` / ``staff-venue``: a staff id (session opener or closer, manual
  attendance, enrolment) not on the county's staff roster, or not allowed at that venue
  (unchecked, with a warning, while the gateway has no roster loaded at all);
- ``minutes-over-session``: a check-out or manual attendance credits more minutes than one
  session may (``[plausibility] max_session_minutes``), or than the planned length of the
  session it names (plus ``presence_slack_minutes``);
- ``minutes-over-presence``: a check-out credits more minutes than the learner was present
  (plus ``presence_slack_minutes`` for rounding);
- ``minutes-over-day``: the learner's credited minutes that day (venue's time zone, records
  in use) would pass ``max_day_minutes``;
- ``no-checkin``: a check-out whose check-in is not a stored check-in of that learner at
  that venue (from any of the venue's kiosks). Held for this reason alone, it is released
  by itself when that check-in arrives later (another kiosk of the venue was offline).

An implausible record is stored (its chain position is real) but **held for review**: an
alert is written, it is not republished on the verified stream, and the relay, reports and
exports leave it out (``Store.records_after``) until county IT accepts it (``learncard gateway
review accept``) — or voids it (kept, marked void, never used).

The bounds come from the gateway configuration's ``[plausibility]`` section until the county's
credit-rules document supplies them (see docs/gateway.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from gateway.store import Tx
from records.county import Document, Registry
from records.encoding import b64url_decode
from records.errors import RecordError
from records.record import Record, parse_time

log = logging.getLogger(__name__)

DEFAULT_ZONE = "Asia/Shanghai"
STAFF_FIELDS = {"session.opened", "session.closed", "attendance.manual", "enrollment", "correction"}
CREDITED = {"attendance.checkout", "attendance.manual"}


@dataclass(frozen=True)
class Limits:
    max_session_minutes: int = 240
    max_day_minutes: int = 600
    presence_slack_minutes: int = 30


def day_of(moment: datetime, zone: str) -> str:
    try:
        return moment.astimezone(ZoneInfo(zone)).date().isoformat()
    except (ZoneInfoNotFoundError, ValueError):
        return moment.astimezone(ZoneInfo(DEFAULT_ZONE)).date().isoformat()


# --- pure decisions ------------------------------------------------------------------------

def venue_problem(rec: Record, enrolled_venue: str | None) -> list[str]:
    return [] if rec.event["venue"] == enrolled_venue else ["wrong-venue"]


def staff_problem(rec: Record, roster: dict[str, dict[str, Any]] | None) -> list[str]:
    staff_id = rec.data.get("staff_id") if rec.type in STAFF_FIELDS else None
    if staff_id is None or roster is None:
        return []
    entry = roster.get(str(staff_id))
    if entry is None:
        return ["staff-unknown"]
    venues = entry.get("venues") or []
    if isinstance(venues, list) and "*" not in venues and rec.event["venue"] not in venues:
        return ["staff-venue"]
    return []


def planned_minutes(rec: Record) -> int:
    """A session.opened record's planned length in minutes (0 if it ends before it starts, or
    if its planned times are no times: the schema only bounds their length, and a signed
    record's text must never raise inside the ingest's transaction)."""
    try:
        start, end = parse_time(rec.data["planned_start"]), parse_time(rec.data["planned_end"])
    except RecordError:
        return 0
    return max(0, int((end - start).total_seconds() // 60))


def minutes_problem(rec: Record, limits: Limits, credited_that_day: int, session_minutes: int | None = None
                    ) -> list[str]:
    """``session_minutes``: the planned length of the session the record names, if known."""
    if rec.type not in CREDITED:
        return []
    minutes = int(rec.data.get("minutes_credited", 0))
    problems = []
    allowed = limits.max_session_minutes
    if session_minutes is not None:
        allowed = min(allowed, session_minutes + limits.presence_slack_minutes)
    if minutes > allowed:
        problems.append("minutes-over-session")
    if rec.type == "attendance.checkout" and \
            minutes * 60 > int(rec.data.get("seconds_present", 0)) + limits.presence_slack_minutes * 60:
        problems.append("minutes-over-presence")
    if credited_that_day + minutes > limits.max_day_minutes:
        problems.append("minutes-over-day")
    return problems


def pairing_problem(rec: Record, checkin: tuple[str, str] | None) -> list[str]:
    if rec.type != "attendance.checkout":
        return []
    if checkin is None or checkin != (rec.data["learner"], rec.event["venue"]):
        return ["no-checkin"]
    return []


def just_verified(token: str) -> Record:
    """A record the ingest has just verified, decoded again without the checks (about 9 µs
    where a full parse costs 45 µs: this runs for every record)."""
    return Record(token, orjson.loads(b64url_decode(token.split(".", 2)[1])), "")


# --- applied to one message's stored records --------------------------------------------------

class Plausibility:
    def __init__(self, registry: Callable[[], Registry], staff: Callable[[], Document | None],
                 limits: Limits | None = None) -> None:
        self.registry = registry
        self.staff = staff
        self.limits = limits or Limits()
        self._warned = False

    def _roster(self) -> dict[str, dict[str, Any]] | None:
        """The staff roster by staff id; None (staff ids unchecked, logged once) while the
        gateway has none loaded."""
        doc = self.staff()
        if doc is None:
            if not self._warned:
                log.warning("no staff roster is loaded: staff ids in records are not checked")
                self._warned = True
            return None
        entries = doc.body.get("staff", [])
        return {str(e.get("staff_id")): e for e in entries if isinstance(e, dict)}

    def review(self, tx: Tx, kiosk: str, verified: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Check the (venue, token) records just stored for ``kiosk`` (in chain order); hold
        the implausible ones. Returns the ones that may be published as verified."""
        if not verified:
            return verified
        registry, roster = self.registry(), self._roster()
        if registry.purpose_of(kiosk) is not None:
            return verified  # a county signer's records (corrections, pairings): the county's own word
        enrolled = registry.venue_of(kiosk)
        kept = []
        for venue, token in verified:
            rec = just_verified(token)
            problems = venue_problem(rec, enrolled) + staff_problem(rec, roster)
            if "learner" in rec.data and rec.type in CREDITED | {"attendance.checkin"}:
                zone = str(registry.venues.get(rec.event["venue"], {}).get("timezone") or DEFAULT_ZONE)
                day = day_of(parse_time(rec.event["time"]), zone)
                learner = str(rec.data["learner"])
                if rec.type in CREDITED:
                    session = rec.data.get("session_id")
                    planned = tx.planned_minutes(str(session)) if session else None
                    problems += minutes_problem(rec, self.limits, tx.credited_minutes(learner, day), planned)
                if rec.data.get("checkin_id", "") is not None:  # None: an unpaired check-out, paired later
                    problems += pairing_problem(rec, tx.checkin_of(str(rec.data.get("checkin_id", ""))))
                tx.note_attendance(rec.id, rec.type, learner, rec.event["venue"], day,
                                   int(rec.data.get("minutes_credited", 0)))
                if rec.type == "attendance.checkin" and not problems:
                    for released in tx.release_waiting(rec.id, learner, rec.event["venue"]):
                        log.info("check-out %s released: its check-in %s arrived", released, rec.id)
            if rec.type == "session.opened" and not problems:
                tx.note_session(str(rec.data["session_id"]), rec.event["venue"], planned_minutes(rec))
            if problems:
                waits = str(rec.data["checkin_id"]) if problems == ["no-checkin"] else ""
                tx.hold(rec.id, kiosk, problems, waits)
                tx.alert(kiosk, "implausible", f"record {rec.id} ({rec.type}) held for review: "
                         + ", ".join(problems))
            else:
                kept.append((venue, token))
        return kept
