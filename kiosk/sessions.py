"""What staff do at the venue: open and close sessions, see the roster, record attendance
for a resident without a card, enrol a walk-in, see today's figures. Every change is a
signed record naming the staff id, committed with the state it changes."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from kiosk.errors import ControlError
from kiosk.taps import Taps, mask_learner, moment_of
from records.errors import InvalidLearnerCode
from records.ids import format_learner_code, parse_learner_code
from records.record import format_time, parse_time, parse_unverified
from records.rules import CreditRule, OpenCheckin, seconds_between
from records.schemas import CATEGORIES

WALKIN_SLIP_PREFIX = "LCT:"  # a walk-in's slip: the temporary learner id, not a credential


class VenueOps:
    def __init__(self, taps: Taps) -> None:
        self.taps = taps
        self.journal = taps.journal
        self.signer = taps.signer
        self.clock = taps.clock

    # --- sessions ---------------------------------------------------------------------

    def open_session(self, staff_id: str, args: dict[str, Any]) -> dict[str, Any]:
        course = str(args.get("course") or "").strip()
        category = str(args.get("category") or "")
        if not course or len(course) > 200:
            raise ControlError("请填写课程名称", "a course title is needed", code="bad-request")
        if category not in CATEGORIES:
            raise ControlError("课程类别不对", f"category must be one of {', '.join(CATEGORIES)}",
                               code="bad-request")
        now = self.clock.now()
        try:
            start = parse_time(args["planned_start"]) if args.get("planned_start") else now.wall
            end = parse_time(args["planned_end"]) if args.get("planned_end") else None
        except ValueError as err:
            raise ControlError("时间格式不对", f"planned times must be RFC 3339: {err}", code="bad-request") from err
        if end is None:
            end = start + timedelta(minutes=int(args.get("minutes") or 90))
        if end <= start:
            raise ControlError("结束时间应晚于开始时间", "the planned end must be after the start", code="bad-request")
        rule = self.taps.rules.default_rule
        if args.get("credit_rule"):
            try:
                rule = CreditRule(**args["credit_rule"])
            except (TypeError, ValueError) as err:
                raise ControlError("学时规则不对", f"bad credit rule: {err}", code="bad-request") from err
        session_id = str(uuid.uuid4())
        data = {"session_id": session_id, "course": course, "category": category, "staff_id": staff_id,
                "planned_start": format_time(start), "planned_end": format_time(end),
                "credit_rule": rule.as_dict()}
        with self.journal.transaction() as tx:
            rec = tx.append(self.signer.maker("session.opened", data, now))
            tx.execute("INSERT INTO sessions (session_id, course, category, staff_id, planned_start, "
                       "planned_end, credit_rule, opened_at) VALUES (?,?,?,?,?,?,?,?)",
                       (session_id, course, category, staff_id, data["planned_start"],
                        data["planned_end"], json.dumps(rule.as_dict()), rec.event["time"]))
        return {**data, "record_id": rec.id, "opened_by": staff_id}

    def close_session(self, staff_id: str | None, session_id: str) -> dict[str, Any]:
        row = self.journal.conn.execute(
            "SELECT closed_at, attendances FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
        if row is None:
            raise ControlError("没有这个课程", f"no session {session_id}", code="no-session")
        if row[0] is not None:
            raise ControlError("这个课程已经结束", "this session is already closed", code="no-session")
        now = self.clock.now()
        present = self.journal.conn.execute(
            "SELECT learner, record_id, card, wall, mono, bootid FROM open_checkins WHERE session_id = ?",
            (session_id,)).fetchall()
        with self.journal.transaction() as tx:
            for learner, record_id, _card, wall, mono, bootid in present:
                opened = OpenCheckin(record_id, int(learner) if learner.isdigit() else 0, session_id,
                                     moment_of((wall, mono, bootid), self.clock))
                self.taps.check_out(learner, None, "auto", opened, seconds_between(opened.at, now), now, tx=tx)
            data = {"session_id": session_id, "staff_id": staff_id, "attendances": int(row[1]),
                    "auto_checkouts": len(present)}
            rec = tx.append(self.signer.maker("session.closed", data, now))
            tx.execute("UPDATE sessions SET closed_at = ? WHERE session_id = ?", (rec.event["time"], session_id))
        return {"session_id": session_id, "auto_checkouts": len(present), "record_id": rec.id}

    def list_sessions(self) -> dict[str, Any]:
        today = self.clock.local_day(self.clock.now())
        rows = self.journal.conn.execute(
            "SELECT session_id, course, category, staff_id, planned_start, planned_end, opened_at, "
            "closed_at, attendances FROM sessions ORDER BY opened_at").fetchall()
        sessions = []
        for sid, course, category, staff, start, end, _opened, closed, attendances in rows:
            if closed is not None and parse_time(closed).astimezone(self.clock.zone).date().isoformat() != today:
                continue
            (present,) = self.journal.conn.execute(
                "SELECT count(*) FROM open_checkins WHERE session_id = ?", (sid,)).fetchone()
            sessions.append({"session_id": sid, "course": course, "category": category,
                             "planned_start": start, "planned_end": end, "opened_by": staff,
                             "closed": closed is not None, "present": present, "attendances": attendances})
        return {"sessions": sessions}

    def roster(self, session_id: str) -> dict[str, Any]:
        conn = self.journal.conn
        if conn.execute("SELECT 1 FROM sessions WHERE session_id = ?", (session_id,)).fetchone() is None:
            raise ControlError("没有这个课程", f"no session {session_id}", code="no-session")
        rows = conn.execute("SELECT learner, wall FROM open_checkins WHERE session_id = ? ORDER BY wall",
                            (session_id,)).fetchall()
        (total,) = conn.execute("SELECT attendances FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
        present = [{"learner_masked": mask_learner(learner),
                    "since": parse_time(wall).astimezone(self.clock.zone).strftime("%H:%M")}
                   for learner, wall in rows]
        return {"session_id": session_id, "present": present, "count_present": len(present),
                "count_total": int(total)}

    # --- residents without a card -------------------------------------------------------

    def _session_arg(self, args: dict[str, Any]) -> str | None:
        session_id = args.get("session_id")
        if session_id is None:
            current = self.taps.current_session(self.journal)
            return current["session_id"] if current else None
        if self.journal.conn.execute("SELECT 1 FROM sessions WHERE session_id = ?",
                                     (session_id,)).fetchone() is None:
            raise ControlError("没有这个课程", f"no session {session_id}", code="no-session")
        return str(session_id)

    def manual(self, staff_id: str, args: dict[str, Any]) -> dict[str, Any]:
        try:
            learner = format_learner_code(parse_learner_code(str(args.get("learner_code", ""))))
        except InvalidLearnerCode as err:
            zh, _, en = str(err).partition(" / ")
            raise ControlError(zh, en or zh, code="bad-learner-code") from err
        reason = str(args.get("reason") or "").strip()
        if not reason:
            raise ControlError("请填写原因", "a reason is needed", code="bad-request")
        minutes = args.get("minutes")
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 <= minutes <= 1440:
            raise ControlError("学时分钟数不对", "minutes must be a whole number 0..1440", code="bad-request")
        now = self.clock.now()
        data = {"learner": learner, "temporary": False, "session_id": self._session_arg(args),
                "staff_id": staff_id, "reason": reason[:200], "minutes_credited": minutes}
        with self.journal.transaction() as tx:
            rec = tx.append(self.signer.maker("attendance.manual", data, now))
            tx.execute("INSERT INTO learner_years VALUES (?,?,?) ON CONFLICT (learner, year) "
                       "DO UPDATE SET minutes = minutes + excluded.minutes", (learner, now.wall.year, minutes))
            tx.execute("INSERT INTO learner_days (learner, day, minutes) VALUES (?,?,?) ON CONFLICT "
                       "(learner, day) DO UPDATE SET minutes = minutes + excluded.minutes",
                       (learner, self.clock.local_day(now), minutes))
        return {"record_id": rec.id, "learner_masked": mask_learner(learner)}

    def walkin(self, staff_id: str, args: dict[str, Any]) -> dict[str, Any]:
        temp = "T" + "".join(secrets.choice("0123456789") for _ in range(12))
        data: dict[str, Any] = {"learner": temp, "temporary": True, "session_id": self._session_arg(args),
                                "staff_id": staff_id}
        if args.get("course"):
            data["course"] = str(args["course"])[:200]
        rec = self.journal.append(self.signer.maker("enrollment", data))
        return {"learner": temp, "qr_text": WALKIN_SLIP_PREFIX + temp, "record_id": rec.id}

    # --- figures ---------------------------------------------------------------------------

    def rate(self, args: dict[str, Any]) -> dict[str, Any]:
        checkout_id = str(args.get("rating_for") or "")
        score = args.get("score")
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            raise ControlError("评分应为 1 到 5", "the score is 1 to 5", code="bad-request")
        conn = self.journal.conn
        row = conn.execute("SELECT token FROM records WHERE id = ? AND type = 'attendance.checkout'",
                           (checkout_id,)).fetchone()
        if row is None:
            raise ControlError("找不到这次签退", "no such check-out to rate", code="bad-request")
        if conn.execute("SELECT 1 FROM ratings WHERE checkout_id = ?", (checkout_id,)).fetchone():
            raise ControlError("这次已经评过分了", "this attendance was already rated", code="bad-request")
        checkout = parse_unverified(row[0]).data
        now = self.clock.now()
        data = {"learner": checkout["learner"], "session_id": checkout["session_id"], "score": score}
        with self.journal.transaction() as tx:
            rec = tx.append(self.signer.maker("rating", data, now))
            tx.execute("INSERT INTO ratings VALUES (?,?,?,?)",
                       (checkout_id, rec.id, self.clock.local_day(now), score))
        return {"record_id": rec.id}

    def figures(self) -> dict[str, Any]:
        now = self.clock.now()
        day = self.clock.local_day(now)
        start = datetime.fromisoformat(day).replace(tzinfo=self.clock.zone)
        start_ms = int(start.timestamp() * 1000)
        conn = self.journal.conn
        counts = dict(conn.execute(
            "SELECT type, count(*) FROM records WHERE created_ms >= ? GROUP BY type", (start_ms,)).fetchall())
        (minutes,) = conn.execute(
            "SELECT coalesce(sum(minutes), 0) FROM learner_days WHERE day = ?", (day,)).fetchone()
        (learners,) = conn.execute(
            "SELECT count(*) FROM (SELECT learner FROM learner_days WHERE day = ? "
            "UNION SELECT learner FROM open_checkins)", (day,)).fetchone()
        (open_learners,) = conn.execute("SELECT count(*) FROM open_checkins").fetchone()
        ratings, average = conn.execute(
            "SELECT count(*), avg(score) FROM ratings WHERE day = ?", (day,)).fetchone()
        return {"day": day, "checkins": counts.get("attendance.checkin", 0),
                "checkouts": counts.get("attendance.checkout", 0),
                "manual": counts.get("attendance.manual", 0),
                "rejected": counts.get("tap.rejected", 0),
                "learners": max(int(learners), 0), "present_now": int(open_learners),
                "minutes_credited": int(minutes), "ratings": int(ratings),
                "rating_average_x10": None if average is None else round(average * 10)}
