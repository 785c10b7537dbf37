"""Plausibility of verified records: what a stolen signing key could still make up.

A record whose signature verifies is what the kiosk's key signed — not necessarily what
happened. After each message's records are stored, every one is checked here:

- ``wrong-venue``: the record names a venue other than its kiosk's enrolled venue;
- ``staff-unknown`` / ``staff-venue``: a staff id (session opener or closer, manual
  attendance, enrolment) not on the county's staff roster, or not allowed at that venue
  (unchecked, with a warning, while the gateway has no roster loaded at all);
- ``minutes-over-session``: a check-out or manual attendance credits more minutes than the
  county's credit rule allows for one attendance (see "Bounds" below);
- ``minutes-over-presence``: a check-out credits more minutes than the learner was present
  (plus ``presence_slack_minutes`` for rounding);
- ``minutes-over-day``: the learner's credited minutes that day (venue's time zone, records
  in use) would pass what the rule allows in a day;
- ``no-checkin``: a check-out whose check-in is not a stored check-in of that learner at
  that venue (from any of the venue's kiosks). Held for this reason alone, it is released
  by itself when that check-in arrives later (another kiosk of the venue was offline).

An implausible record is stored (its chain position is real) but **held for review**: an
alert is written, it is not republished on the verified stream, and the relay, reports and
exports leave it out (``Store.records_after``) until county IT accepts it (``learncard gateway
review accept``) — or voids it (kept, marked void, never used).

Bounds. They come from the county's ``credit-rules`` document in force (re-read when it
changes), with the rule the record names (``rule_name``; the rule's name, never the settings
a record carries, so a stolen key cannot sign itself a laxer rule) or the document's default:

- a check-out of a session the gateway knows: what the rule credits at most for that session's
  planned length (``cap_at_session``, ``session_cap_minutes``, ``daily_cap_minutes``);
- a check-out of self-study, or of a session the gateway never stored: the rule's self-study
  cap (``daily_self_study_cap_minutes``, and ``session_cap_minutes`` / ``daily_cap_minutes``);
- a manual attendance: the largest of the document's manual minutes the kiosk may offer (never
  more than the session's planned length);
- a day: ``daily_cap_minutes`` (1440 when the rule has none).

Only while the county has published no credit rules (or the one in force does not parse) do
the gateway configuration's ``[plausibility]`` bounds apply, and the gateway says so in its
log once. ``presence_slack_minutes`` (check-outs against the presence they state) always comes
from the configuration.
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
from records.rules import RuleBook, max_day_minutes, max_session_minutes

log = logging.getLogger(__name__)

DEFAULT_ZONE = "Asia/Shanghai"
STAFF_FIELDS = {"session.opened", "session.closed", "attendance.manual", "enrollment", "correction"}
CREDITED = {"attendance.checkout", "attendance.manual"}


@dataclass(frozen=True)
class Limits:
    max_session_minutes: int = 240
    max_day_minutes: int = 600
    presence_slack_minutes: int = 30


@dataclass(frozen=True)
class Bounds:
    """What one credited record may claim: minutes for itself, and for its learner's day."""

    session: int
    day: int


def config_bounds(limits: Limits, session_minutes: int | None) -> Bounds:
    """The ``[plausibility]`` bounds (no credit rules published)."""
    allowed = limits.max_session_minutes
    if session_minutes is not None:
        allowed = min(allowed, session_minutes + limits.presence_slack_minutes)
    return Bounds(allowed, limits.max_day_minutes)


def rule_bounds(rec: Record, book: RuleBook, session_minutes: int | None) -> Bounds:
    """The bounds of the county's rule for ``rec``. ``session_minutes``: the planned length of
    the session the record names, None when it names none or one the gateway never stored
    (then the rule's self-study bound: a made-up session id earns no more than self-study)."""
    name = rec.data.get("rule_name")
    rule = book.get(name if isinstance(name, str) and name in book.rules else None)
    if rec.type == "attendance.manual":
        limit = session_minutes if session_minutes is not None else 1440
        offered = [m for m in book.manual_minutes if m <= limit] or [limit]
        return Bounds(max(offered), max_day_minutes(rule))
    planned = None if session_minutes is None else session_minutes * 60
    return Bounds(max_session_minutes(rule, planned), max_day_minutes(rule))


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


def minutes_problem(rec: Record, bounds: Bounds, credited_that_day: int, slack_minutes: int) -> list[str]:
    if rec.type not in CREDITED:
        return []
    minutes = int(rec.data.get("minutes_credited", 0))
    problems = []
    if minutes > bounds.session:
        problems.append("minutes-over-session")
    if rec.type == "attendance.checkout" and \
            minutes * 60 > int(rec.data.get("seconds_present", 0)) + slack_minutes * 60:
        problems.append("minutes-over-presence")
    if credited_that_day + minutes > bounds.day:
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
                 limits: Limits | None = None, rules: Callable[[], Document | None] = lambda: None) -> None:
        self.registry = registry
        self.staff = staff
        self.limits = limits or Limits()
        self.rules = rules  # the county's credit-rules document in force, None if none
        self._warned = False
        self._book: tuple[int, RuleBook | None] | None = None  # (document version, its rules)
        self._by_id: tuple[Document, dict[str, dict[str, Any]]] | None = None  # (roster, its entries by id)

    def rule_book(self) -> RuleBook | None:
        """The credit rules in force; None (the ``[plausibility]`` bounds, logged once per
        change) while the county has published none or the one in force does not parse."""
        doc = self.rules()
        version = -1 if doc is None else doc.version
        if self._book is not None and self._book[0] == version:
            return self._book[1]
        book = None
        if doc is None:
            log.warning("the county has published no credit rules: minutes are checked against the "
                        "[plausibility] bounds of the gateway configuration")
        else:
            try:
                book = RuleBook.from_body(doc.body)
                log.info("plausibility bounds from credit-rules version %d (default rule %s)", version, book.default)
            except (TypeError, ValueError) as err:
                log.warning("credit-rules version %d does not parse (%s): minutes are checked against the "
                            "[plausibility] bounds of the gateway configuration", version, err)
        self._book = (version, book)
        return book

    def _roster(self) -> dict[str, dict[str, Any]] | None:
        """The staff roster by staff id; None (staff ids unchecked, logged once) while the
        gateway has none loaded."""
        doc = self.staff()
        if doc is None:
            if not self._warned:
                log.warning("no staff roster is loaded: staff ids in records are not checked")
                self._warned = True
            return None
        if self._by_id is None or self._by_id[0] is not doc:  # once per roster, not per message
            entries = doc.body.get("staff", [])
            self._by_id = (doc, {str(e.get("staff_id")): e for e in entries if isinstance(e, dict)})
        return self._by_id[1]

    def review(self, tx: Tx, kiosk: str, verified: list[Record]) -> list[Record]:
        """Check the records just stored for ``kiosk`` (in chain order, as the ingest parsed
        and verified them); hold the implausible ones. Returns the ones that may be published
        as verified."""
        if not verified:
            return verified
        registry, roster, book = self.registry(), self._roster(), self.rule_book()
        if registry.purpose_of(kiosk) is not None:
            return verified  # a county signer's records (corrections, pairings): the county's own word
        enrolled = registry.venue_of(kiosk)
        kept = []
        for rec in verified:
            problems = venue_problem(rec, enrolled) + staff_problem(rec, roster)
            if "learner" in rec.data and rec.type in CREDITED | {"attendance.checkin"}:
                zone = str(registry.venues.get(rec.event["venue"], {}).get("timezone") or DEFAULT_ZONE)
                day = day_of(parse_time(rec.event["time"]), zone)
                learner = str(rec.data["learner"])
                if rec.type in CREDITED:
                    session = rec.data.get("session_id")
                    planned = tx.planned_minutes(str(session)) if session else None
                    bounds = config_bounds(self.limits, planned) if book is None else \
                        rule_bounds(rec, book, planned)
                    problems += minutes_problem(rec, bounds, tx.credited_minutes(learner, day),
                                                self.limits.presence_slack_minutes)
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
                kept.append(rec)
        return kept
