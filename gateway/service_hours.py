"""Service hours (志愿服务/授课时长) per person, and registration lists settled across kiosks.
Pure over records from the store.

Service time of a session is credited to the staff member it names (the teacher or volunteer
the programme assigns, or the staff member who opened it) from its ``session.opened`` to its
``session.closed`` record (its ``closed_at`` when the clock closed it late, after a power cut) —
so a session the clock opened and closed counts its check-in window and grace too (the people
running it are there). A session
not closed yet counts nothing. The role comes from the county's staff roster.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from records.record import Record, parse_time
from records.registration import Enrollment, settle


def service_hours(records: Iterable[Record], roles: dict[str, str]) -> list[dict[str, Any]]:
    """One row per staff id: role, sessions run, service hours (2 decimals)."""
    opened: dict[str, Record] = {}
    closed: dict[str, Record] = {}
    for rec in records:
        if rec.type == "session.opened":
            opened[rec.data["session_id"]] = rec
        elif rec.type == "session.closed":
            closed[rec.data["session_id"]] = rec
    seconds: dict[str, float] = defaultdict(float)
    sessions: dict[str, int] = defaultdict(int)
    for session_id, rec in opened.items():
        staff_id = rec.data.get("staff_id")
        end = closed.get(session_id)
        if not staff_id or end is None:
            continue
        closed_at = end.data.get("closed_at") or end.event["time"]  # the clock's close, even if recorded late
        span = (parse_time(closed_at) - parse_time(rec.event["time"])).total_seconds()
        seconds[staff_id] += max(0.0, span)
        sessions[staff_id] += 1
    return [{"staff_id": sid, "role": roles.get(sid, "unknown"), "sessions": sessions[sid],
             "service_hours": round(seconds[sid] / 3600, 2)} for sid in sorted(seconds)]


def registration_lists(records: Iterable[Record], capacity_of: dict[str, int | None]) -> list[dict[str, Any]]:
    """Every course's settled list per venue and scope: who holds a place, who waits (and
    where), whatever each kiosk answered offline (records/registration.py says the policy)."""
    groups: dict[tuple[str, str, str], list[Enrollment]] = defaultdict(list)
    for rec in records:
        if rec.type == "enrollment" and rec.data.get("course_id") and rec.data.get("status"):
            key = (rec.event["venue"], rec.data["course_id"], rec.data["scope"])
            groups[key].append(Enrollment(rec.data["learner"], rec.data["status"], rec.event["time"], rec.id))
    rows = []
    for (venue, course_id, scope), enrollments in sorted(groups.items()):
        answered = {e.learner: e.status for e in sorted(enrollments, key=lambda e: (e.time, e.record_id))}
        for learner, outcome in sorted(settle(enrollments, capacity_of.get(course_id)).items(),
                                       key=lambda kv: (kv[1].status != "registered", kv[1].place, kv[0])):
            rows.append({"venue": venue, "course_id": course_id, "scope": scope, "learner": learner,
                         "status": outcome.status, "place": outcome.place or None,
                         "kiosk_said": answered[learner],
                         "lost_place": answered[learner] == "registered" and outcome.status == "waiting"})
    return rows
