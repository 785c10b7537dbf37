"""Pairing an unpaired check-out with its check-in at another kiosk of the same venue.

A venue with several kiosks shares open check-ins over its venue topic; a kiosk that cannot
see the others records a check-out it cannot pair (``checkin_id: null``, no minutes). The
gateway pairs it later (gateway/pairing.py) with this rule, and records the pairing as a
county correction (an amendment, reason ``paired``), so every reader — relay, reports, a
learner's statement — sees one attendance with its credited minutes:

- the check-in: the same learner, the same venue, the same local day (the check-out's UTC
  offset), at or before the check-out, the latest such that no tap check-out ends already;
  an automatic check-out (``how: auto``, the session closed) does not count as an end: the
  resident's own tap does, and the automatic one is voided;
- seconds present: wall time between the two (two kiosks share no monotonic clock);
- minutes: :func:`records.rules.credited_minutes` with the check-in's session rule and planned
  length, or for self-study the rule's daily cap less what the learner already earned that day.

Pure: the caller passes the candidate records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from records.record import Record, parse_time
from records.rules import CreditRule, credited_minutes


def is_unpaired(rec: Record) -> bool:
    return rec.type == "attendance.checkout" and rec.data.get("checkin_id") is None


@dataclass(frozen=True)
class Pairing:
    checkout: Record
    checkin: Record
    amended: dict[str, Any]  # the fields of the amendment
    superseded: tuple[Record, ...]  # automatic check-outs of the check-in, to void


def _same_day(a: Record, b: Record) -> bool:
    first = parse_time(a.event["time"])
    return first.date() == parse_time(b.event["time"]).astimezone(first.tzinfo).date()


def pair(checkout: Record, records: Iterable[Record], sessions: dict[str, dict[str, Any]],
         default_rule: CreditRule) -> Pairing | None:
    """The pairing of ``checkout`` among ``records`` (the venue's, corrections applied), or
    None when its check-in is not known (yet). ``sessions``: session id → its
    ``session.opened`` body."""
    learner, venue = checkout.data["learner"], checkout.event["venue"]
    out_at = parse_time(checkout.event["time"])
    checkins: list[Record] = []
    ends: dict[str, list[Record]] = {}
    for rec in records:
        if rec.event["venue"] != venue or rec.data.get("learner") != learner:
            continue
        if rec.type == "attendance.checkin":
            checkins.append(rec)
        elif rec.type == "attendance.checkout" and rec.data.get("checkin_id") and rec.id != checkout.id:
            ends.setdefault(rec.data["checkin_id"], []).append(rec)
    best = None
    for checkin in checkins:
        if parse_time(checkin.event["time"]) > out_at or not _same_day(checkout, checkin):
            continue
        if any(end.data["how"] != "auto" for end in ends.get(checkin.id, [])):
            continue
        if best is None or parse_time(checkin.event["time"]) > parse_time(best.event["time"]):
            best = checkin
    if best is None:
        return None
    seconds = max(0, int((out_at - parse_time(best.event["time"])).total_seconds()))
    session = sessions.get(best.data.get("session_id") or "")
    if session is not None:
        planned = int((parse_time(session["planned_end"]) - parse_time(session["planned_start"])).total_seconds())
        rule = CreditRule(**{k: v for k, v in session["credit_rule"].items() if k in CreditRule.__dataclass_fields__})
        minutes = credited_minutes(seconds, rule, planned)
    else:
        earned = sum(int(r.data["minutes_credited"]) for r in records
                     if r.type in ("attendance.checkout", "attendance.manual") and r.data.get("learner") == learner
                     and r.data.get("session_id") is None and r.id != checkout.id and _same_day(checkout, r))
        minutes = credited_minutes(seconds, default_rule, None, earned)
    amended = {"checkin_id": best.id, "checkin_time": best.event["time"], "checkin_kiosk": best.kiosk,
               "seconds_present": seconds, "minutes_credited": minutes, "session_id": best.data.get("session_id")}
    return Pairing(checkout, best, amended, tuple(ends.get(best.id, [])))
