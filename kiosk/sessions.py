"""What staff do at the venue: open and close sessions, see the roster, record attendance
for a resident without a card, enrol a walk-in, see today's figures. Every change is a
signed record naming the staff id, committed with the state it changes."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from kiosk import timetable
from kiosk.errors import ControlError
from kiosk.journal import Tx
from kiosk.journal_state import SessionRow
from kiosk.taps import Taps, mask_learner, opened_of, write_in
from kiosk.walkin_slips import SlipMaker
from records import programme, slip
from records.errors import InvalidLearnerCode
from records.ids import format_learner_code, parse_learner_code
from records.record import format_time, parse_time, parse_unverified
from records.rules import Moment, seconds_between

AD_HOC_MINUTES = (30, 45, 60, 90, 120, 180, 240)  # the lengths staff choose from for an ad-hoc session


class VenueOps:
    def __init__(self, taps: Taps, venue: str = "") -> None:
        self.taps = taps
        self.venue = venue
        self.registrations: Any = None  # kiosk.registration.Registrations, set by the agent
        self.consents: Any = None  # kiosk.consents.Consents, set by the agent
        self.journal = taps.journal
        self.signer = taps.signer
        self.clock = taps.clock
        # walk-in slips: signed by this kiosk; the wiring adds the printer, venue name and validity
        self.slips = SlipMaker(taps.signer, taps.docs.county_id, taps.signer.origin.venue)

    # --- sessions ---------------------------------------------------------------------

    def venue_courses(self) -> list[dict[str, Any]]:
        return programme.courses_at(self.taps.docs.programme(), self.venue)

    def today(self) -> dict[str, Any]:
        """Today's planned sessions (to pick one) and the venue's courses (to start one ad hoc)."""
        now = self.clock.now()
        body = self.taps.docs.programme()
        opened = self.journal.state.opened_occurrences()
        planned = [{"occurrence": o.key, "course_id": o.course["course_id"], "title_zh": o.course["title_zh"],
                    "title_en": o.course.get("title_en") or "", "start": o.start.strftime("%H:%M"),
                    "end": o.end.strftime("%H:%M"), "opened": o.key in opened}
                   for o in programme.occurrences(body, self.venue, now.wall.astimezone(self.clock.zone).date(),
                                                  self.clock.zone)]
        courses = [{"course_id": c["course_id"], "title_zh": c["title_zh"], "title_en": c.get("title_en") or ""}
                   for c in self.venue_courses()]
        return {"planned": planned, "courses": courses, "ad_hoc_minutes": list(AD_HOC_MINUTES),
                "programme_version": self.taps.docs.version("programme")}

    def open_session(self, staff_id: str, args: dict[str, Any]) -> dict[str, Any]:
        """Staff pick a planned session of today (``occurrence``) or start one of the venue's
        courses ad hoc (``course_id`` and ``minutes`` from 30..240). Nothing is typed."""
        now = self.clock.now()
        body = self.taps.docs.programme()
        if args.get("occurrence"):
            key = str(args["occurrence"])
            found = [o for o in programme.occurrences(body, self.venue, now.wall.astimezone(self.clock.zone).date(),
                                                      self.clock.zone) if o.key == key]
            if not found:
                raise ControlError("今天的课程表里没有这节课", f"no planned session {key} today", code="bad-request")
            if key in self.journal.state.opened_occurrences():
                raise ControlError("这节课已经开过了", "this planned session was opened already", code="bad-request")
            occ = found[0]
            return self._open(now, occ.course, occ.start, occ.end, staff_id, "staff", occ.key)
        course = programme.find_course(body, str(args.get("course_id") or ""))
        if course is None or course.get("venue") != self.venue:
            raise ControlError("请从本场所的课程中选择", "choose one of this venue's courses", code="bad-request")
        minutes = args.get("minutes")
        if minutes not in AD_HOC_MINUTES:
            raise ControlError("请选择课程时长", f"minutes is one of {AD_HOC_MINUTES}", code="bad-request")
        return self._open(now, course, now.wall, now.wall + timedelta(minutes=int(minutes)), staff_id, "ad-hoc", None)

    def _open(self, now: Moment, course: dict[str, Any], start: datetime, end: datetime, staff_id: str | None,
              how: str, occurrence: str | None, tx: Tx | None = None) -> dict[str, Any]:
        book = self.taps.rule_book()
        rule_name = course["credit_rule"] if course["credit_rule"] in book.rules else book.default
        rule = book.get(rule_name)
        body = self.taps.docs.programme()
        close_at = timetable.session_close_at(end, body)
        session_id = str(uuid.uuid4())
        data: dict[str, Any] = {
            "v": 2, "session_id": session_id, "course": course["title_zh"], "course_id": course["course_id"],
            "category": course["category"], "form": course["form"], "audience": course["audience"],
            "staff_id": staff_id, "planned_start": format_time(start), "planned_end": format_time(end),
            "credit_rule": rule.as_dict(), "rule_name": rule_name, "how": how,
            "programme_version": self.taps.docs.version("programme")}
        if course.get("title_en"):
            data["title_en"] = course["title_en"]
        if occurrence:
            data["occurrence"] = occurrence

        def write(t: Tx) -> Any:
            rec = t.append(self.signer.maker("session.opened", data, now))
            t.state.insert_session(SessionRow(
                session_id, course["title_zh"], course["category"], staff_id, data["planned_start"],
                data["planned_end"], rule.as_dict(), rec.event["time"], None, 0, occurrence,
                timetable.ms(close_at), rule_name, course["course_id"]))
            return rec

        rec = write_in(self.journal, tx, write)
        return {**data, "record_id": rec.id, "opened_by": staff_id}

    def close_session(self, staff_id: str | None, session_id: str, *, at: datetime | None = None,
                      tx: Tx | None = None) -> dict[str, Any]:
        """Close a session. Staff closing it: those present are checked out ``auto``, credited
        by presence. The clock closing it (``at`` = planned end + grace): nobody checked out,
        so each is ``expired`` with the rule's no-check-out outcome, present until ``at``."""
        state = (tx or self.journal).state
        session = state.session(session_id)
        if session is None:
            raise ControlError("没有这个课程", f"no session {session_id}", code="no-session")
        if session.closed_at is not None:
            raise ControlError("这个课程已经结束", "this session is already closed", code="no-session")
        now = self.clock.now()
        present = state.open_checkins(session_id)
        how = "auto" if at is None else "expired"

        def write(t: Tx) -> Any:
            for row in present:
                opened = opened_of(row, self.clock)
                seconds = seconds_between(opened.at, now)
                if at is not None:
                    seconds = min(seconds, max(0, int((at - opened.at.wall).total_seconds())))
                self.taps.check_out(row.learner, None, how, opened, seconds, now, tx=t)
            data: dict[str, Any] = {"session_id": session_id, "staff_id": staff_id,
                                    "attendances": session.attendances, "auto_checkouts": len(present)}
            if at is not None:  # closed by the clock, maybe late (the agent was off): say when it was due
                data.update(v=2, closed_at=format_time(at))
            rec = t.append(self.signer.maker("session.closed", data, now))
            t.state.mark_closed(session_id, rec.event["time"])
            return rec

        rec = write_in(self.journal, tx, write)
        return {"session_id": session_id, "auto_checkouts": len(present), "record_id": rec.id}

    def catch_up(self) -> int:
        """Carry out everything the timetable says is due now; returns how many actions."""
        now = self.clock.now()
        state = self.journal.state
        actions = timetable.due(now.wall, self.taps.docs.programme(), self.venue, self.clock.zone,
                                state.open_sessions(), state.opened_occurrences(), state.open_checkins())
        for action in actions:
            if isinstance(action, timetable.CloseDue):
                self.close_session(None, action.session_id, at=action.close_at)
            elif isinstance(action, timetable.ExpireDue):
                row = state.open_checkin(action.learner)
                if row is not None:
                    opened = opened_of(row, self.clock)
                    seconds = min(seconds_between(opened.at, now),
                                  max(0, int((action.expires_at - opened.at.wall).total_seconds())))
                    self.taps.check_out(row.learner, None, "expired", opened, seconds, now)
            else:
                staff = action.occurrence.course.get("staff_id")
                self._open(now, action.occurrence.course, action.occurrence.start, action.occurrence.end,
                           staff if staff else None, "programme", action.occurrence.key)
        return len(actions)

    def list_sessions(self) -> dict[str, Any]:
        today = self.clock.local_day(self.clock.now())
        state = self.journal.state
        sessions = []
        for s in state.all_sessions():
            closed_day = s.closed_at and parse_time(s.closed_at).astimezone(self.clock.zone).date().isoformat()
            if closed_day and closed_day != today:
                continue
            sessions.append({"session_id": s.session_id, "course": s.course, "course_id": s.course_id,
                             "category": s.category, "planned_start": s.planned_start, "planned_end": s.planned_end,
                             "opened_by": s.staff_id, "closed": s.closed_at is not None,
                             "present": state.count_present(s.session_id), "attendances": s.attendances})
        return {"sessions": sessions}

    def roster(self, session_id: str) -> dict[str, Any]:
        state = self.journal.state
        session = state.session(session_id)
        if session is None:
            raise ControlError("没有这个课程", f"no session {session_id}", code="no-session")
        rows = state.open_checkins(session_id)
        present = [{"learner_masked": mask_learner(r.learner),
                    "since": parse_time(r.wall).astimezone(self.clock.zone).strftime("%H:%M")} for r in rows]
        registered = self.registrations.registered_for(session) if self.registrations else []
        here = {r.learner for r in rows}
        return {"session_id": session_id, "present": present, "count_present": len(present),
                "count_total": session.attendances,
                "registered": [{"learner_masked": mask_learner(learner), "status": status,
                                "present": learner in here} for learner, status in registered],
                "count_registered": sum(1 for _learner, status in registered if status == "registered")}

    # --- residents without a card -------------------------------------------------------

    def _session_arg(self, args: dict[str, Any]) -> str | None:
        session_id = args.get("session_id")
        if session_id is None:
            current = self.journal.state.current_session()
            return current.session_id if current else None
        if self.journal.state.session(str(session_id)) is None:
            raise ControlError("没有这个课程", f"no session {session_id}", code="no-session")
        return str(session_id)

    def manual_choices(self, args: dict[str, Any]) -> dict[str, Any]:
        """What staff may choose for a manual attendance in this session: the reasons and the
        minutes the county's rules allow (never more than the session's planned length), and
        the residents registered for its course (to pick instead of typing a code)."""
        book = self.taps.rule_book()
        session_id = self._session_arg(args)
        session = self.journal.state.session(session_id) if session_id else None
        limit = timetable.planned_seconds(session) // 60 if session is not None else 1440
        registered = []
        if session is not None and self.registrations is not None:
            registered = [{"learner_code": learner, "learner_masked": mask_learner(learner)}
                          for learner, status in self.registrations.registered_for(session)
                          if status == "registered"]
        return {"session_id": session_id, "reasons": list(book.manual_reasons),
                "minutes": [m for m in book.manual_minutes if m <= limit] or [limit],
                "registered": registered}

    def manual(self, staff_id: str, args: dict[str, Any]) -> dict[str, Any]:
        typed = str(args.get("learner_code", "")).strip().upper()
        temporary = slip.is_temporary_id(typed)  # a walk-in's temporary id, as printed on the slip
        try:
            learner = typed if temporary else format_learner_code(parse_learner_code(typed))
        except InvalidLearnerCode as err:
            zh, _, en = str(err).partition(" / ")
            raise ControlError(zh, en or zh, code="bad-learner-code") from err
        choices = self.manual_choices(args)
        reason = args.get("reason")
        if reason not in [r["id"] for r in choices["reasons"]]:
            raise ControlError("请从列表中选择原因", "choose one of the reasons offered", code="bad-request")
        minutes = args.get("minutes")
        if minutes not in choices["minutes"]:
            raise ControlError("请从列表中选择学时", "choose one of the minutes offered", code="bad-request")
        now = self.clock.now()
        data = {"learner": learner, "temporary": temporary, "session_id": choices["session_id"],
                "staff_id": staff_id, "reason": reason, "minutes_credited": minutes}
        with self.journal.transaction() as tx:
            rec = tx.append(self.signer.maker("attendance.manual", data, now))
            tx.state.credit(learner, self.clock.local_day(now), now.wall.year, 0, int(minutes), 0)
        return {"record_id": rec.id, "learner_masked": mask_learner(learner)}

    def walkin(self, staff_id: str, args: dict[str, Any]) -> dict[str, Any]:
        """Enrol a walk-in: the consent the resident gave on the staff's screen and the
        enrolment, in one transaction (no consent, or a minor without a guardian's: refused)."""
        answer = self.consents.answer(args)
        temp = "T" + "".join(secrets.choice("0123456789") for _ in range(12))
        data: dict[str, Any] = {"learner": temp, "temporary": True, "session_id": self._session_arg(args),
                                "staff_id": staff_id}
        if args.get("course"):
            data["course"] = str(args["course"])[:200]
        now = self.clock.now()
        with self.journal.transaction() as tx:
            self.consents.record(tx, temp, True, answer, "staff-touchscreen", staff_id, now)
            rec = tx.append(self.signer.maker("enrollment", data, now))
        return {"learner": temp, "record_id": rec.id, **self.slips.make(temp, now)}

    # --- figures ---------------------------------------------------------------------------

    def rate(self, args: dict[str, Any]) -> dict[str, Any]:
        checkout_id = str(args.get("rating_for") or "")
        score = args.get("score")
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            raise ControlError("评分应为 1 到 5", "the score is 1 to 5", code="bad-request")
        state = self.journal.state
        token = state.checkout_token(checkout_id)
        if token is None:
            raise ControlError("找不到这次签退", "no such check-out to rate", code="bad-request")
        if state.rated(checkout_id):
            raise ControlError("这次已经评过分了", "this attendance was already rated", code="bad-request")
        checkout = parse_unverified(token).data
        now = self.clock.now()
        data = {"learner": checkout["learner"], "session_id": checkout["session_id"], "score": score}
        with self.journal.transaction() as tx:
            rec = tx.append(self.signer.maker("rating", data, now))
            tx.state.put_rating(checkout_id, rec.id, self.clock.local_day(now), score)
        return {"record_id": rec.id}

    def figures(self) -> dict[str, Any]:
        now = self.clock.now()
        day = self.clock.local_day(now)
        start = datetime.fromisoformat(day).replace(tzinfo=self.clock.zone)
        start_ms = int(start.timestamp() * 1000)
        state = self.journal.state
        counts = state.record_counts_since(start_ms)
        minutes, learners = state.day_figures(day)
        open_learners = state.count_present()
        ratings, average = state.rating_figures(day)
        return {"day": day, "checkins": counts.get("attendance.checkin", 0),
                "checkouts": counts.get("attendance.checkout", 0),
                "manual": counts.get("attendance.manual", 0),
                "rejected": counts.get("tap.rejected", 0),
                "learners": max(int(learners), 0), "present_now": int(open_learners),
                "minutes_credited": int(minutes), "ratings": int(ratings),
                "rating_average_x10": None if average is None else round(average * 10)}
