"""What a card read becomes: a check-in, a check-out, a repeated tap, or a refusal.

The record and the state it changes are committed in one journal transaction before the
result is returned: the screen says "done" only for what is durable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk import timetable, walkin_slips
from kiosk.clock import Clock
from kiosk.county_docs import CountyDocuments
from kiosk.journal import Journal, Tx
from kiosk.journal_state import CheckinRow, SessionRow, VenueState
from kiosk.messages import duration_text, rejection, say
from kiosk.reader.base import CardRead
from kiosk.signer import Signer
from kiosk.venue_share import VenueShare
from records import card, slip, sun
from records.errors import MalformedCredential, RecordError
from records.record import format_time, parse_time
from records.rules import (
    CreditRule,
    LastTap,
    Moment,
    OpenCheckin,
    RuleBook,
    credited_minutes,
    decide_tap,
    default_rule_book,
    duplicate_message,
    expired_minutes,
    seconds_between,
)
from records.schemas import REJECT_REASONS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TapRules:
    """What stays local to a kiosk; crediting comes from the county's credit rules."""

    debounce_seconds: int = 120
    no_session: str = "self-study"  # or "refuse"


def mask_learner(learner: str) -> str:
    return "*" * (len(learner) - 4) + learner[-4:]


def moment_of(row: tuple[str, int, str], clock: Clock) -> Moment:
    wall, mono, bootid = row
    return Moment(parse_time(wall).astimezone(clock.zone), int(mono), bootid)


def opened_of(row: CheckinRow, clock: Clock) -> OpenCheckin:
    return OpenCheckin(row.record_id, int(row.learner) if row.learner.isdigit() else 0, row.session_id,
                       moment_of((row.wall, row.mono, row.bootid), clock))


class Taps:
    def __init__(self, journal: Journal, signer: Signer, docs: CountyDocuments, clock: Clock,
                 rules: TapRules) -> None:
        self.journal = journal
        self.signer = signer
        self.docs = docs
        self.clock = clock
        self.rules = rules
        self.registrations: Any = None  # kiosk.registration.Registrations: "报名" then the card
        self.on_staff_card: Callable[[card.Credential], None] | None = None
        self.share: VenueShare | None = None  # open check-ins of the venue's other kiosks

    # --- reading the card ---------------------------------------------------------

    def handle(self, read: CardRead) -> dict[str, Any]:
        now = self.clock.now()
        how = "nfc" if read.how == "nfc" else "qr"
        verified: card.Credential | None = None
        if how == "qr" and slip.is_slip_text(read.text or ""):
            return self.walk_in(read.text or "", now)
        try:
            if read.torn:
                raise MalformedCredential("卡片离开太快 / the card left before it was read whole", reason="truncated")
            data = card.from_qr_text(read.text or "") if how == "qr" else card.from_ndef(read.ndef or b"")
            verified = card.verify(data, {self.docs.county_id: self.docs.issuer})
            card.check_usable(verified, self.docs.revoked_cards(), int(now.wall.timestamp()))
        except RecordError as err:
            reason = err.reason if err.reason in REJECT_REASONS else "malformed"
            log.info("card refused at the %s reader: %s", read.reader, reason)
            return self.reject(reason, how, verified, now)
        if verified.staff:
            if self.on_staff_card is not None:
                self.on_staff_card(verified)
            return {"outcome": "staff-card", "card_id": verified.card_id, "name": verified.name,
                    "message": say("staff-card"), "advice": None}
        if self.registrations is not None and self.registrations.armed():
            return dict(self.registrations.take(verified, now))
        found = sun.find_in_ndef(read.ndef) if how == "nfc" and read.ndef else None  # NTAG 424 DNA cards
        return self.attend(verified, how, now, sun={"e": found.e, "c": found.c} if found else None)

    def walk_in(self, text: str, now: Moment) -> dict[str, Any]:
        """A walk-in's slip, made at any kiosk of the county: the same check-in or check-out as
        a card (no name), or a refusal with the slip's own reason."""
        try:
            walkin = walkin_slips.read(text, self.docs, int(now.wall.timestamp()), self.signer)
        except RecordError as err:
            reason = err.reason if err.reason in REJECT_REASONS else "slip-malformed"
            log.info("walk-in slip refused: %s", reason)
            return self.reject(reason, "qr", None, now)
        return self.attend(walkin, "qr", now)  # type: ignore[arg-type]  # a slip reads as a card

    def reject(self, reason: str, how: str, cred: card.Credential | None, now: Moment) -> dict[str, Any]:
        data: dict[str, Any] = {"reason": reason, "how": how}
        if cred is not None:  # only a verified credential names a card or learner
            data["card"] = cred.card_id
            data["learner"] = cred.learner_code
        rec = self.journal.append(self.signer.maker("tap.rejected", data, now))
        message, advice = rejection(reason)
        return {"outcome": "rejected", "reason": reason, "record_id": rec.id,
                "name": cred.name if cred else None, "message": message, "advice": advice}

    # --- attendance ------------------------------------------------------------------

    def rule_book(self) -> RuleBook:
        return self.docs.rule_book() or default_rule_book()

    def session_rule(self, session: SessionRow | None) -> tuple[CreditRule, str | None]:
        """A session's rule as it was signed when it opened; self-study: the county's default."""
        if session is not None:
            return CreditRule.from_dict(session.credit_rule), session.rule_name
        book = self.rule_book()
        return book.get(None), book.default

    def session_for(self, learner: str) -> SessionRow | None:
        """The open session a check-in joins: with several open, the one whose course the
        learner registered for; otherwise the latest opened."""
        sessions = self.journal.state.open_sessions()
        if len(sessions) > 1 and self.registrations is not None:
            for s in reversed(sessions):
                if learner in {who for who, status in self.registrations.registered_for(s) if status == "registered"}:
                    return s
        return sessions[-1] if sessions else None

    def attend(self, cred: card.Credential, how: str, now: Moment,
               sun: dict[str, str] | None = None) -> dict[str, Any]:
        learner = cred.learner_code
        state = self.journal.state
        session = self.session_for(learner)
        open_row = state.open_checkin(learner)
        last = state.last_tap(learner)
        open_checkin = None if open_row is None else opened_of(open_row, self.clock)
        last_tap = None if last is None else LastTap(last[0], moment_of(last[1:], self.clock))
        if open_checkin is None and session is None and self.rules.no_session == "refuse":
            return self.reject("no-session", how, cred, now)
        decision = decide_tap(now, open_checkin, last_tap, self.rules.debounce_seconds)
        base = {"name": cred.name, "learner_masked": mask_learner(learner)}
        if decision.action == "duplicate":
            assert decision.previous is not None and last_tap is not None
            zh, en = duplicate_message(decision.previous, checked_in=last_tap.kind == "checkin")
            return {**base, "outcome": "duplicate", "previous": decision.previous.wall.strftime("%H:%M"),
                    "message": {"zh_CN": zh, "en": en}, "advice": None,
                    **self.totals(learner, now)}
        remote = self.share.find(learner) if self.share is not None and open_row is None else None
        if decision.action == "checkin" and remote is not None:  # checked in at another kiosk of the venue
            opened = OpenCheckin(remote.checkin.id, 0, remote.checkin.data.get("session_id"),
                                 Moment(parse_time(remote.checkin.event["time"]).astimezone(self.clock.zone), 0, ""))
            result = self.check_out(learner, cred.card_id, how, opened, seconds_between(opened.at, now), now,
                                    session=remote.session, checkin_kiosk=remote.checkin.kiosk)
            self.share.closed(remote.checkin.id)  # type: ignore[union-attr]
            return {**base, **result}
        if decision.action == "checkin" and remote is None and self.share is not None and self.share.cut_off():
            # the venue's other kiosks are out of sight: this may be a check-out of a check-in made
            # there. Ask — never tell the resident something false (no record until they answer)
            ask = self.share.ask(cred, how, sun)
            return {**base, "outcome": "ask", "ask": ask, "choices": ["in", "out"],
                    "message": say("ask-direction"), "advice": None}
        if decision.action == "checkin":
            return {**base, **self.check_in(cred, how, session, now, sun)}
        assert open_checkin is not None
        return {**base, **self.check_out(learner, cred.card_id, how, open_checkin,
                                         decision.seconds_present, now)}

    def answer(self, ask: str, direction: str) -> dict[str, Any]:
        """The resident's answer to ``ask``: ``in`` checks in; ``out`` records an unpaired
        check-out — "已签退", no minutes (the gateway pairs it: docs/venue-kiosks.md)."""
        assert self.share is not None
        cred, how, sun = self.share.answered(ask)
        now = self.clock.now()
        learner = cred.learner_code
        base = {"name": cred.name, "learner_masked": mask_learner(learner)}
        if direction == "in":
            return {**base, **self.check_in(cred, how, self.session_for(learner), now, sun)}
        data = {"learner": learner, "card": cred.card_id, "session_id": None, "checkin_id": None,
                "checkin_time": None, "seconds_present": 0, "minutes_credited": 0, "how": how, "v": 2}
        with self.journal.transaction() as tx:
            rec = tx.append(self.signer.maker("attendance.checkout", data, now))
            tx.state.remember_tap(learner, "checkout", rec.event["time"], now.mono_ns, now.bootid)
        return {**base, "outcome": "checkout", "record_id": rec.id, "rating_for": rec.id, "unpaired": True,
                "minutes_credited": None, "seconds_present": None, "session": None,
                "message": say("checkout-unpaired"), "advice": None}

    def check_in(self, cred: card.Credential, how: str, session: SessionRow | None,
                 now: Moment, sun: dict[str, str] | None = None) -> dict[str, Any]:
        """``sun``: an NTAG 424 DNA card's SUN message, recorded for the gateway to check."""
        learner = cred.learner_code
        session_id = session.session_id if session else None
        data = {"learner": learner, "card": cred.card_id, "session_id": session_id, "how": how,
                "groups": cred.group_names}
        if sun:
            data["sun"] = sun
        if session is not None and session.close_ms is not None:
            expires_ms = session.close_ms
        else:
            expires_ms = timetable.ms(timetable.self_study_expiry(now.wall, self.docs.programme(), self.clock.zone))
        with self.journal.transaction() as tx:
            rec = tx.append(self.signer.maker("attendance.checkin", data, now))
            tx.state.put_open_checkin(CheckinRow(learner, rec.id, cred.card_id, session_id, rec.event["time"],
                                                 now.mono_ns, now.bootid, expires_ms))
            tx.state.remember_tap(learner, "checkin", rec.event["time"], now.mono_ns, now.bootid)
            if session_id:
                tx.state.count_attendance(session_id)
        course = session.course if session else None
        return {"outcome": "checkin", "record_id": rec.id,
                "session": {"session_id": session_id, "course": course} if session_id else None,
                "message": say("checkin", course=course), "advice": None,
                **self.totals(learner, now)}

    def check_out(self, learner: str, card_id: str | None, how: str, opened: OpenCheckin,
                  seconds: int, now: Moment, tx: Tx | None = None, *, session: SessionRow | None = None,
                  checkin_kiosk: str | None = None) -> dict[str, Any]:
        """Pair ``opened`` with a check-out now. ``how``: the reader; ``auto`` when staff close
        the session (credited by presence); ``expired`` when nobody checked out (credited by
        the rule's no-check-out outcome — nothing by default). ``checkin_kiosk`` and
        ``session``: a check-in made at another kiosk of the venue, and its session as that
        kiosk opened it (kiosk/venue_share.py)."""
        state = (tx or self.journal).state
        if session is None and checkin_kiosk is None:
            session = state.session(opened.session_id) if opened.session_id else None
        rule, rule_name = self.session_rule(session)
        day = self.clock.local_day(Moment(opened.at.wall, 0, "")) if how == "expired" else self.clock.local_day(now)
        _seconds, today, self_study_today = state.day_totals(learner, day)
        planned = None if session is None else timetable.planned_seconds(session)
        if how == "expired":
            minutes = expired_minutes(rule, planned, self_study_today, today)
        else:
            minutes = credited_minutes(seconds, rule, planned, self_study_today, today)
        data: dict[str, Any] = {"learner": learner, "card": card_id, "session_id": opened.session_id,
                                "checkin_id": opened.record_id, "checkin_time": _fmt(opened.at),
                                "seconds_present": seconds, "minutes_credited": minutes, "how": how, "v": 2}
        if rule_name:
            data["rule_name"] = rule_name
        if checkin_kiosk:
            data["checkin_kiosk"] = checkin_kiosk

        def write(t: Tx) -> Any:
            rec = t.append(self.signer.maker("attendance.checkout", data, now))
            t.state.drop_open_checkin(learner)
            if how not in ("auto", "expired"):
                t.state.remember_tap(learner, "checkout", rec.event["time"], now.mono_ns, now.bootid)
            t.state.credit(learner, day, int(day[:4]), seconds, minutes, minutes if session is None else 0)
            return rec

        rec = write_in(self.journal, tx, write)
        course = session.course if session else None
        return {"outcome": "checkout", "record_id": rec.id, "rating_for": rec.id,
                "minutes_credited": minutes, "seconds_present": seconds,
                "session": {"session_id": opened.session_id, "course": course} if opened.session_id else None,
                "message": say("checkout", duration=duration_text(seconds), minutes=minutes,
                               seconds=seconds),
                "advice": None, **self.totals(learner, now, state=state)}

    def totals(self, learner: str, now: Moment, state: VenueState | None = None) -> dict[str, int]:
        state = state or self.journal.state
        seconds, _minutes, _self_study = state.day_totals(learner, self.clock.local_day(now))
        open_row = state.open_checkin(learner)
        if open_row is not None and open_row.bootid == now.bootid:
            seconds += max(0, (now.mono_ns - open_row.mono) // 1_000_000_000)
        return {"seconds_today": int(seconds), "minutes_year": state.year_minutes(learner, now.wall.year)}


def write_in(journal: Journal, tx: Tx | None, write: Callable[[Tx], Any]) -> Any:
    """``write`` inside the caller's transaction, or in one of its own (committed on return)."""
    if tx is not None:
        return write(tx)
    with journal.transaction() as t:
        return write(t)


def _fmt(moment: Moment) -> str:
    return format_time(moment.wall)
