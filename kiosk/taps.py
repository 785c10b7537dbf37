"""What a card read becomes: a check-in, a check-out, a repeated tap, or a refusal.

The record and the state it changes are committed in one journal transaction before the
result is returned: the screen says "done" only for what is durable.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from kiosk.clock import Clock
from kiosk.county_docs import CountyDocuments
from kiosk.journal import Journal, Tx
from kiosk.messages import duration_text, rejection, say
from kiosk.reader.base import CardRead
from kiosk.signer import Signer
from records import card, sun
from records.errors import MalformedCredential, RecordError
from records.record import format_time, parse_time
from records.rules import (
    CreditRule,
    LastTap,
    Moment,
    OpenCheckin,
    credited_minutes,
    decide_tap,
    duplicate_message,
)
from records.schemas import REJECT_REASONS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TapRules:
    debounce_seconds: int = 120
    no_session: str = "self-study"  # or "refuse"
    default_rule: CreditRule = CreditRule()


def mask_learner(learner: str) -> str:
    return "*" * (len(learner) - 4) + learner[-4:]


def moment_of(row: tuple[str, int, str], clock: Clock) -> Moment:
    wall, mono, bootid = row
    return Moment(parse_time(wall).astimezone(clock.zone), int(mono), bootid)


class Taps:
    def __init__(self, journal: Journal, signer: Signer, docs: CountyDocuments, clock: Clock,
                 rules: TapRules) -> None:
        self.journal = journal
        self.signer = signer
        self.docs = docs
        self.clock = clock
        self.rules = rules

    # --- reading the card ---------------------------------------------------------

    def handle(self, read: CardRead) -> dict[str, Any]:
        now = self.clock.now()
        how = "nfc" if read.how == "nfc" else "qr"
        verified: card.Credential | None = None
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
            return {"outcome": "staff-card", "card_id": verified.card_id, "name": verified.name,
                    "message": say("staff-card"), "advice": None}
        found = sun.find_in_ndef(read.ndef) if how == "nfc" and read.ndef else None  # NTAG 424 DNA cards
        return self.attend(verified, how, now, sun={"e": found.e, "c": found.c} if found else None)

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

    def current_session(self, tx_or_journal: Journal | Tx) -> dict[str, Any] | None:
        conn = tx_or_journal.conn
        row = conn.execute(
            "SELECT session_id, course, planned_start, planned_end, credit_rule FROM sessions "
            "WHERE closed_at IS NULL ORDER BY opened_at DESC LIMIT 1").fetchone()
        if row is None:
            return None
        return {"session_id": row[0], "course": row[1], "planned_start": row[2],
                "planned_end": row[3], "credit_rule": json.loads(row[4])}

    def attend(self, cred: card.Credential, how: str, now: Moment,
               sun: dict[str, str] | None = None) -> dict[str, Any]:
        learner = cred.learner_code
        conn = self.journal.conn
        session = self.current_session(self.journal)
        open_row = conn.execute(
            "SELECT record_id, session_id, wall, mono, bootid FROM open_checkins WHERE learner = ?",
            (learner,)).fetchone()
        last_row = conn.execute(
            "SELECT kind, wall, mono, bootid FROM last_taps WHERE learner = ?", (learner,)).fetchone()
        open_checkin = None if open_row is None else OpenCheckin(
            open_row[0], cred.learner, open_row[1], moment_of(open_row[2:], self.clock))
        last_tap = None if last_row is None else LastTap(last_row[0], moment_of(last_row[1:], self.clock))
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
        if decision.action == "checkin":
            return {**base, **self.check_in(cred, how, session, now, sun)}
        assert open_checkin is not None
        return {**base, **self.check_out(learner, cred.card_id, how, open_checkin,
                                         decision.seconds_present, now)}

    def check_in(self, cred: card.Credential, how: str, session: dict[str, Any] | None,
                 now: Moment, sun: dict[str, str] | None = None) -> dict[str, Any]:
        """``sun``: an NTAG 424 DNA card's SUN message, recorded for the gateway to check."""
        learner = cred.learner_code
        session_id = session["session_id"] if session else None
        data = {"learner": learner, "card": cred.card_id, "session_id": session_id, "how": how,
                "groups": cred.group_names}
        if sun:
            data["sun"] = sun
        with self.journal.transaction() as tx:
            rec = tx.append(self.signer.maker("attendance.checkin", data, now))
            tx.execute("INSERT OR REPLACE INTO open_checkins VALUES (?,?,?,?,?,?,?)",
                       (learner, rec.id, cred.card_id, session_id, rec.event["time"],
                        now.mono_ns, now.bootid))
            self.remember_tap(tx, learner, "checkin", rec.event["time"], now)
            if session_id:
                tx.execute("UPDATE sessions SET attendances = attendances + 1 WHERE session_id = ?",
                           (session_id,))
        course = session["course"] if session else None
        return {"outcome": "checkin", "record_id": rec.id,
                "session": {"session_id": session_id, "course": course} if session_id else None,
                "message": say("checkin", course=course), "advice": None,
                **self.totals(learner, now)}

    def check_out(self, learner: str, card_id: str | None, how: str, opened: OpenCheckin,
                  seconds: int, now: Moment, tx: Tx | None = None) -> dict[str, Any]:
        """Pair ``opened`` with a check-out now (``how`` = auto when a session closes)."""
        session = None
        if opened.session_id:
            row = self.journal.conn.execute(
                "SELECT course, planned_start, planned_end, credit_rule FROM sessions WHERE session_id = ?",
                (opened.session_id,)).fetchone()
            if row is not None:
                session = {"course": row[0], "planned_start": row[1], "planned_end": row[2],
                           "credit_rule": json.loads(row[3])}
        day = self.clock.local_day(now)
        if session is not None:
            planned = int((parse_time(session["planned_end"]) -
                           parse_time(session["planned_start"])).total_seconds())
            minutes = credited_minutes(seconds, CreditRule(**session["credit_rule"]), max(planned, 0))
        else:
            (today,) = self.journal.conn.execute(
                "SELECT coalesce(sum(self_study_minutes), 0) FROM learner_days WHERE learner = ? AND day = ?",
                (learner, day)).fetchone()
            minutes = credited_minutes(seconds, self.rules.default_rule, None, today)
        data = {"learner": learner, "card": card_id, "session_id": opened.session_id,
                "checkin_id": opened.record_id, "checkin_time": _fmt(opened.at),
                "seconds_present": seconds, "minutes_credited": minutes, "how": how}

        def write(t: Tx) -> Any:
            rec = t.append(self.signer.maker("attendance.checkout", data, now))
            t.execute("DELETE FROM open_checkins WHERE learner = ?", (learner,))
            if how != "auto":
                self.remember_tap(t, learner, "checkout", rec.event["time"], now)
            t.execute(
                "INSERT INTO learner_days (learner, day, seconds, minutes, self_study_minutes) "
                "VALUES (?,?,?,?,?) ON CONFLICT (learner, day) DO UPDATE SET "
                "seconds = seconds + excluded.seconds, minutes = minutes + excluded.minutes, "
                "self_study_minutes = self_study_minutes + excluded.self_study_minutes",
                (learner, day, seconds, minutes, minutes if session is None else 0))
            t.execute(
                "INSERT INTO learner_years VALUES (?,?,?) ON CONFLICT (learner, year) "
                "DO UPDATE SET minutes = minutes + excluded.minutes",
                (learner, now.wall.year, minutes))
            return rec

        if tx is not None:
            rec = write(tx)
        else:
            with self.journal.transaction() as t:
                rec = write(t)
        course = session["course"] if session else None
        return {"outcome": "checkout", "record_id": rec.id, "rating_for": rec.id,
                "minutes_credited": minutes, "seconds_present": seconds,
                "session": {"session_id": opened.session_id, "course": course} if opened.session_id else None,
                "message": say("checkout", duration=duration_text(seconds), minutes=minutes,
                               seconds=seconds),
                "advice": None, **self.totals(learner, now, conn=(tx or self.journal).conn)}

    @staticmethod
    def remember_tap(tx: Tx, learner: str, kind: str, wall: str, now: Moment) -> None:
        tx.execute("INSERT OR REPLACE INTO last_taps VALUES (?,?,?,?,?)",
                   (learner, kind, wall, now.mono_ns, now.bootid))

    def totals(self, learner: str, now: Moment, conn: Any = None) -> dict[str, int]:
        conn = conn or self.journal.conn
        day = self.clock.local_day(now)
        (seconds,) = conn.execute(
            "SELECT coalesce(sum(seconds), 0) FROM learner_days WHERE learner = ? AND day = ?",
            (learner, day)).fetchone()
        open_row = conn.execute("SELECT mono, bootid, wall FROM open_checkins WHERE learner = ?",
                                (learner,)).fetchone()
        if open_row is not None and open_row[1] == now.bootid:
            seconds += max(0, (now.mono_ns - open_row[0]) // 1_000_000_000)
        (minutes,) = conn.execute(
            "SELECT coalesce(sum(minutes), 0) FROM learner_years WHERE learner = ? AND year = ?",
            (learner, now.wall.year)).fetchone()
        return {"seconds_today": int(seconds), "minutes_year": int(minutes)}


def _fmt(moment: Moment) -> str:
    return format_time(moment.wall)
