"""Reports for venues and the county, from the records in the gateway's store.

Per venue, course and month (by the time of the fact, in the venue's time zone): sessions
held, attendances, distinct learners, study hours credited, the share of learners in each
card group, average satisfaction. The learning-star list (百姓学习之星: top learners by
credited hours, by learner code), and teaching hours of staff and volunteers from the
sessions they ran. Pure over a list of records: the command reads them from the store.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from records.record import Record, parse_time

SELF_STUDY = "自主学习 / self-study"
GROUPS = ("elder", "youth", "migrant", "disabled")


@dataclass
class Cell:
    venue: str
    course: str
    month: str
    sessions: int = 0
    attendances: int = 0
    learners: set[str] = field(default_factory=set)
    minutes: int = 0
    ratings: list[int] = field(default_factory=list)
    grouped: dict[str, set[str]] = field(default_factory=lambda: {g: set() for g in GROUPS})

    def row(self) -> dict[str, Any]:
        n = len(self.learners)
        return {
            "venue": self.venue, "course": self.course, "month": self.month, "sessions_held": self.sessions,
            "attendances": self.attendances, "distinct_learners": n, "hours_credited": round(self.minutes / 60, 2),
            **{f"share_{g}": round(len(self.grouped[g] & self.learners) / n, 3) if n else 0.0 for g in GROUPS},
            "ratings": len(self.ratings),
            "average_satisfaction": round(sum(self.ratings) / len(self.ratings), 2) if self.ratings else None,
        }


@dataclass
class Report:
    cells: list[dict[str, Any]]
    stars: list[dict[str, Any]]
    staff: list[dict[str, Any]]
    voided_left_out: int = 0  # records voided by a correction (records/corrections.py), not counted

    def as_json(self) -> dict[str, Any]:
        return {"venues": self.cells, "learning_stars": self.stars, "staff_teaching": self.staff,
                "voided_left_out": self.voided_left_out}


def build(records: Iterable[Record], zone_of: Callable[[str], ZoneInfo], top: int = 10,
          since: datetime | None = None, until: datetime | None = None) -> Report:
    recs = []
    for rec in records:
        moment = parse_time(rec.event["time"])
        if (since and moment < since) or (until and moment >= until):
            continue
        recs.append(rec)
    sessions: dict[str, dict[str, Any]] = {}
    for rec in recs:
        if rec.type == "session.opened":
            sessions[rec.data["session_id"]] = {**rec.data, "opened": rec.event["time"], "venue": rec.event["venue"]}
    for rec in recs:
        if rec.type == "session.closed" and rec.data["session_id"] in sessions:
            sessions[rec.data["session_id"]]["closed"] = rec.event["time"]
    cells: dict[tuple[str, str, str], Cell] = {}
    learner_groups: dict[str, set[str]] = defaultdict(set)
    star_minutes: dict[str, int] = defaultdict(int)
    star_venues: dict[str, set[str]] = defaultdict(set)

    def cell(rec: Record, session_id: str | None) -> Cell:
        venue = rec.event["venue"]
        course = sessions[session_id]["course"] if session_id in sessions else SELF_STUDY
        month = parse_time(rec.event["time"]).astimezone(zone_of(venue)).strftime("%Y-%m")
        key = (venue, course, month)
        if key not in cells:
            cells[key] = Cell(venue, course, month)
        return cells[key]

    for rec in recs:
        data = rec.data
        if rec.type == "session.opened":
            cell(rec, data["session_id"]).sessions += 1
        elif rec.type == "attendance.checkin":
            c = cell(rec, data["session_id"])
            c.attendances += 1
            c.learners.add(data["learner"])
            learner_groups[data["learner"]].update(data["groups"])
        elif rec.type in ("attendance.checkout", "attendance.manual"):
            c = cell(rec, data["session_id"])
            c.learners.add(data["learner"])
            c.minutes += data["minutes_credited"]
            if rec.type == "attendance.manual":
                c.attendances += 1
            star_minutes[data["learner"]] += data["minutes_credited"]
            star_venues[data["learner"]].add(rec.event["venue"])
        elif rec.type == "rating":
            cell(rec, data["session_id"]).ratings.append(data["score"])
    for c in cells.values():
        for learner in c.learners:
            for g in learner_groups.get(learner, ()):
                c.grouped[g].add(learner)
    # a learner with no credited time is never a learning star
    stars = sorted(((k, m) for k, m in star_minutes.items() if m > 0), key=lambda kv: (-kv[1], kv[0]))[:top]
    return Report(
        cells=[cells[k].row() for k in sorted(cells)],
        stars=[{"rank": i + 1, "learner": learner, "hours_credited": round(minutes / 60, 2),
                "venues": sorted(star_venues[learner])} for i, (learner, minutes) in enumerate(stars)],
        staff=_teaching(sessions),
    )


def _teaching(sessions: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    hours: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for s in sessions.values():
        if not s["staff_id"]:  # opened by the programme's clock with no one assigned
            continue
        start = parse_time(s["opened"])
        end = parse_time(s["closed"]) if "closed" in s else parse_time(s["planned_end"])
        hours[s["staff_id"]] += max(0.0, (end - start).total_seconds()) / 3600
        count[s["staff_id"]] += 1
    return [{"staff_id": sid, "sessions": count[sid], "teaching_hours": round(hours[sid], 2)}
            for sid in sorted(hours)]


TEXT_COLUMNS = ("learner", "staff_id", "venue")


def to_csv(rows: list[dict[str, Any]]) -> str:
    """CSV for people with Excel or WPS: learner codes as ="0000000000018" so the zeros stay."""
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (";".join(v) if isinstance(v, list) else
                             f'="{v}"' if k in TEXT_COLUMNS and str(v).isdigit() else v) for k, v in row.items()})
    return out.getvalue()
