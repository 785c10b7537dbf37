"""Registration at the kiosk (注册报名): the idle screen lists the week's courses that take
registrations; a resident taps "报名" (or "取消报名") on one, then the card. The kiosk records
an ``enrollment`` (course, and the session or the term), gives a place while any is left and
otherwise a place on the waiting list; cancelling frees the place for the first who waits.
All of it works offline: the journal holds the lists, and the gateway settles places between
several kiosks of one venue (records/registration.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from kiosk.errors import ControlError
from kiosk.journal_state import SessionRow
from kiosk.taps import Taps, mask_learner
from records import card, programme
from records.consent import Answer
from records.registration import CANCELLED, REGISTERED, WAITING, decide
from records.rules import Moment

ARM_SECONDS = 30  # how long the kiosk waits for the card after "报名" is touched
# how long a tapped card waits for the answer to the privacy notice: no countdown on screen,
# but a resident who walked away cannot be consented for by the next person at the screen
CONSENT_SECONDS = 300
WEEK_DAYS = 7


@dataclass
class Intent:
    course_id: str
    scope: str
    action: str  # register or cancel
    until_ns: int


@dataclass
class Pending:
    """A registration waiting for the resident's answer to the privacy notice."""

    cred: card.Credential
    intent: Intent
    until_ns: int


def scope_of(course: dict[str, Any], occurrence: str) -> str:
    """Registration per session names the session (its occurrence key); per term, the term."""
    return occurrence if course.get("registration") == "session" else "term"


class Registrations:
    def __init__(self, taps: Taps, venue: str) -> None:
        self.taps = taps
        self.journal = taps.journal
        self.venue = venue
        self.intent: Intent | None = None
        self.pending: Pending | None = None
        self.consents: Any = None  # kiosk.consents.Consents, set by the agent

    def courses(self) -> dict[str, Any]:
        """The week's courses at this venue that take registrations, with places left."""
        now = self.taps.clock.now()
        body = self.taps.docs.programme()
        zone = self.taps.clock.zone
        state = self.journal.state
        seen: set[tuple[str, str]] = set()
        listed = []
        today = now.wall.astimezone(zone).date()
        for offset in range(WEEK_DAYS):
            for occ in programme.occurrences(body, self.venue, today + timedelta(days=offset), zone):
                course = occ.course
                if course.get("registration", "none") == "none" or occ.end <= now.wall:
                    continue
                scope = scope_of(course, occ.key)
                if (course["course_id"], scope) in seen:
                    continue
                seen.add((course["course_id"], scope))
                taken = state.registered_count(course["course_id"], scope)
                capacity = course.get("capacity")
                listed.append({"course_id": course["course_id"], "scope": scope, "title_zh": course["title_zh"],
                               "title_en": course.get("title_en") or "", "day": occ.start.date().isoformat(),
                               "start": occ.start.strftime("%H:%M"), "end": occ.end.strftime("%H:%M"),
                               "capacity": capacity, "registered": taken,
                               "full": capacity is not None and taken >= capacity})
        return {"courses": listed}

    def arm(self, args: dict[str, Any]) -> dict[str, Any]:
        """The next learner card read is a registration (or a cancellation) for this course."""
        action = args.get("action", "register")
        if action not in ("register", "cancel"):
            raise ControlError("操作不对", "action is register or cancel", code="bad-request")
        wanted = (str(args.get("course_id") or ""), str(args.get("scope") or ""))
        offered = {(c["course_id"], c["scope"]) for c in self.courses()["courses"]}
        if wanted not in offered:
            raise ControlError("这门课现在不能报名", "this course takes no registrations now", code="bad-request")
        self.intent = Intent(wanted[0], wanted[1], str(action), time.monotonic_ns() + ARM_SECONDS * 10**9)
        return {"course_id": wanted[0], "scope": wanted[1], "action": action, "seconds": ARM_SECONDS}

    def disarm(self) -> dict[str, Any]:
        self.intent = self.pending = None
        return {}

    def armed(self) -> bool:
        if self.intent is not None and time.monotonic_ns() > self.intent.until_ns:
            self.intent = None
        return self.intent is not None

    def take(self, cred: card.Credential, now: Moment) -> dict[str, Any]:
        """Record the armed registration or cancellation for this learner."""
        intent = self.intent
        assert intent is not None
        self.intent = None
        course = programme.find_course(self.taps.docs.programme(), intent.course_id) or {}
        learner = cred.learner_code
        state = self.journal.state
        current = state.registration(learner, intent.course_id, intent.scope)
        base = {"name": cred.name, "learner_masked": mask_learner(learner), "course_id": intent.course_id,
                "course": course.get("title_zh", ""), "advice": None}
        if intent.action == "cancel":
            if current is None:
                return {**base, "outcome": "not-registered",
                        "message": {"zh_CN": "您没有报名这门课", "en": "You are not registered for this course"}}
            return {**base, **self._cancel(learner, intent, current, now)}
        if current is not None:
            return {**base, "outcome": "already-" + current,
                    "message": {"zh_CN": "您已经报名了这门课" if current == REGISTERED else "您已在候补名单上",
                                "en": "You are registered already" if current == REGISTERED
                                else "You are on the waiting list already"}}
        if self.consents.needed(learner):
            # first registration under this notice: the screen shows it and asks (register.consent)
            self.pending = Pending(cred, intent, time.monotonic_ns() + CONSENT_SECONDS * 10**9)
            return {**base, "outcome": "consent-needed", **self.consents.shown(), "seconds": CONSENT_SECONDS,
                    "message": {"zh_CN": "报名前请阅读个人信息告知并选择是否同意",
                                "en": "Before registering, please read the privacy notice and answer"}}
        return self._register(cred, intent, course, base, None, now)

    def consent(self, args: dict[str, Any]) -> dict[str, Any]:
        """The resident's answer to the notice shown after their tap: yes records the consent
        and the registration in one transaction; no (or a minor without a guardian) records nothing."""
        pending, self.pending = self.pending, None
        if pending is None or time.monotonic_ns() > pending.until_ns:
            raise ControlError("请重新点“报名”并刷卡", "please touch 报名 and tap the card again", code="no-pending")
        answer = self.consents.answer(args)
        course = programme.find_course(self.taps.docs.programme(), pending.intent.course_id) or {}
        base = {"name": pending.cred.name, "learner_masked": mask_learner(pending.cred.learner_code),
                "course_id": pending.intent.course_id, "course": course.get("title_zh", ""), "advice": None}
        return self._register(pending.cred, pending.intent, course, base, answer, self.taps.clock.now())

    def _register(self, cred: card.Credential, intent: Intent, course: dict[str, Any], base: dict[str, Any],
                  answer: Answer | None, now: Moment) -> dict[str, Any]:
        learner = cred.learner_code
        state = self.journal.state
        waiting = len([s for _, s in state.registered(intent.course_id, intent.scope) if s == WAITING])
        outcome = decide(course.get("capacity"), state.registered_count(intent.course_id, intent.scope), waiting)
        rec = self._record(learner, intent, outcome.status, outcome.place, now, answer)
        if outcome.status == REGISTERED:
            title_en = course.get("title_en") or base["course"]
            message = {"zh_CN": f"报名成功：《{base['course']}》", "en": f"Registered: {title_en}"}
        else:
            message = {"zh_CN": f"名额已满，您在候补名单第 {outcome.place} 位",
                       "en": f"The course is full: you are number {outcome.place} on the waiting list"}
        return {**base, "outcome": outcome.status, "place": outcome.place, "record_id": rec, "message": message}

    def _cancel(self, learner: str, intent: Intent, current: str, now: Moment) -> dict[str, Any]:
        promoted = None
        with self.journal.transaction() as tx:
            rec = tx.append(self.taps.signer.maker("enrollment", self._data(learner, intent, CANCELLED, 0), now))
            tx.state.drop_registration(learner, intent.course_id, intent.scope)
            if current == REGISTERED:
                promoted = tx.state.first_waiting(intent.course_id, intent.scope)
                if promoted is not None:
                    up = tx.append(self.taps.signer.maker(
                        "enrollment", self._data(promoted, intent, REGISTERED, 0), now))
                    tx.state.put_registration(promoted, intent.course_id, intent.scope, REGISTERED, up.id,
                                              _ms(now))
        return {"outcome": "cancelled", "record_id": rec.id,
                "promoted": mask_learner(promoted) if promoted else None,
                "message": {"zh_CN": "已取消报名", "en": "Registration cancelled"}}

    def _data(self, learner: str, intent: Intent, status: str, place: int) -> dict[str, Any]:
        data: dict[str, Any] = {"v": 2, "learner": learner, "temporary": False, "session_id": None,
                                "staff_id": None, "course_id": intent.course_id, "scope": intent.scope,
                                "status": status}
        if place:
            data["place"] = place
        return data

    def _record(self, learner: str, intent: Intent, status: str, place: int, now: Moment,
                answer: Answer | None = None) -> str:
        with self.journal.transaction() as tx:
            if answer is not None:
                self.consents.record(tx, learner, False, answer, "card-tap", None, now)
            rec = tx.append(self.taps.signer.maker("enrollment", self._data(learner, intent, status, place), now))
            tx.state.put_registration(learner, intent.course_id, intent.scope, status, rec.id, _ms(now))
        return rec.id

    def registered_for(self, session: SessionRow) -> list[tuple[str, str]]:
        """Who registered for this session's course (per session or for the term)."""
        if not session.course_id:
            return []
        course = programme.find_course(self.taps.docs.programme(), session.course_id) or {}
        scope = scope_of(course, session.occurrence or "")
        return self.journal.state.registered(session.course_id, scope)


def _ms(now: Moment) -> int:
    return int(now.wall.timestamp() * 1000)
