"""Consent at the kiosk (个人信息保护法): the ``consent`` record written in the same journal
transaction as a walk-in's enrolment or a resident's registration, and staff recording a
withdrawal. The notice (its version, words, what is collected, for what, how long) is the
county's ``[privacy]`` setting, handed in by the wiring (records/consent.py)."""

from __future__ import annotations

import re
from typing import Any

from kiosk.errors import ControlError
from kiosk.journal import Tx
from kiosk.signer import Signer
from kiosk.taps import mask_learner
from records import consent
from records.consent import Answer, ConsentRefused, Notice
from records.errors import InvalidLearnerCode
from records.ids import format_learner_code, parse_learner_code
from records.record import Record
from records.rules import Moment


def refusal(err: ConsentRefused) -> ControlError:
    return ControlError(err.zh, err.en, code=err.code)


class Consents:
    def __init__(self, notice: Notice, signer: Signer, journal: Any) -> None:
        self.notice = notice
        self.signer = signer
        self.journal = journal

    def shown(self) -> dict[str, Any]:
        return {"notice": self.notice.shown()}

    def answer(self, args: dict[str, Any]) -> Answer:
        """The resident's checked answer from a request, or the refusal (nothing recorded); a
        minor is under the county's ``privacy.guardian_age``."""
        try:
            return consent.check(Answer.from_args(args), self.notice.guardian_age)
        except ConsentRefused as err:
            raise refusal(err) from err

    def needed(self, learner: str) -> bool:
        """True unless the learner consented at this kiosk to the current notice version."""
        return self.journal.state.consented(learner) != self.notice.version

    def record(self, tx: Tx, learner: str, temporary: bool, answer: Answer, how: str, staff_id: str | None,
               now: Moment) -> Record:
        """Append the consent inside the caller's transaction (with the enrolment it allows)."""
        body = consent.given_body(learner, temporary, self.notice, answer, how, staff_id)
        rec = tx.append(self.signer.maker("consent", body, now))
        tx.state.put_consent(learner, self.notice.version, rec.id, int(now.wall.timestamp() * 1000))
        return rec

    def withdraw(self, staff_id: str, args: dict[str, Any], now: Moment) -> dict[str, Any]:
        """Staff record that a resident withdrew their consent (the code read from the card or slip)."""
        learner, temporary = _learner(str(args.get("learner_code", "")))
        version = self.journal.state.consented(learner)
        if version is None:
            raise ControlError("这位学员在本机没有同意记录", "no consent of this learner is held at this kiosk",
                               code="no-consent")
        body = consent.withdrawn_body(learner, temporary, version, staff_id)
        with self.journal.transaction() as tx:
            rec = tx.append(self.signer.maker("consent", body, now))
            tx.state.drop_consent(learner)
        return {"record_id": rec.id, "learner_masked": mask_learner(learner),
                "message": {"zh_CN": "已记录撤回同意", "en": "Withdrawal of consent recorded"}}


def _learner(text: str) -> tuple[str, bool]:
    """A learner code (check digit verified) or a walk-in's temporary id, and which it is."""
    text = text.strip().upper()
    if re.fullmatch(r"T[0-9]{12}", text):
        return text, True
    try:
        return format_learner_code(parse_learner_code(text)), False
    except InvalidLearnerCode as err:
        zh, _, en = str(err).partition(" / ")
        raise ControlError(zh, en or zh, code="bad-learner-code") from err
