"""Consent (个人信息保护法, PIPL) to what LearnCard records about a resident. Pure.

A ``consent`` record is made at the kiosk when a resident registers for a course (their own
card tap) or staff enrol a walk-in (the staff touchscreen), in the same journal transaction
as the enrolment; staff may record its withdrawal. The record names the **version** of the
notice the resident was shown; the notice's words, what is collected, for what and for how
long come from the county's settings (``[privacy]``, :class:`Notice`), never from this code.

A minor — under the county's ``privacy.guardian_age`` (default 14: 个人信息保护法 art. 31,
不满十四周岁未成年人的个人信息 needs a parent's or guardian's consent) — is recorded only with
the guardian's consent. The kiosk asks with that age, the consent record names it
(``guardian_age``), and the county desk's consent uses the same setting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from records.errors import RecordError

GIVEN, WITHDRAWN = "given", "withdrawn"
HOW = ("staff-touchscreen", "card-tap")

# The defaults of the county's [privacy] settings, shared by kiosk and gateway; a county
# that changes them publishes a new notice version.
DEFAULT_NOTICE = "privacy-notice-v1"
DEFAULT_COLLECTED = ("learner code (pseudonymous)", "card id", "learner groups chosen by the resident",
                     "check-in/check-out times and venue", "credited study minutes", "registrations",
                     "satisfaction scores")
DEFAULT_PURPOSES = ("lifelong-learning record and study hours (学分银行)", "county statistics (统计制度)")
DEFAULT_GUARDIAN_AGE = 14  # PIPL art. 31; a county may ask for a guardian up to 18 (privacy.guardian_age)
GUARDIAN_AGES = range(1, 19)


class ConsentRefused(RecordError):  # noqa: N818 — a refusal, said in zh_CN and en
    """No consent, or a minor without the guardian's consent: nothing may be recorded."""

    def __init__(self, zh: str, en: str, code: str) -> None:
        super().__init__(f"{zh} / {en}", reason=code)
        self.zh, self.en, self.code = zh, en, code


@dataclass(frozen=True)
class Notice:
    """What the resident is shown and agrees to (the county's ``[privacy]`` settings)."""

    version: str
    zh_CN: str
    en: str
    collected: tuple[str, ...] = DEFAULT_COLLECTED
    purposes: tuple[str, ...] = DEFAULT_PURPOSES
    retention_days: dict[str, int] = field(default_factory=dict)
    guardian_age: int = DEFAULT_GUARDIAN_AGE  # under it, a guardian must consent too

    def __post_init__(self) -> None:
        if self.guardian_age not in GUARDIAN_AGES:
            raise ValueError(f"监护人同意年龄须在 1 到 18 之间 / privacy.guardian_age {self.guardian_age}: "
                             "expected 1..18 (14 by the PIPL)")

    def shown(self) -> dict[str, Any]:
        """The notice as the screen shows it (the age question asks with ``guardian_age``)."""
        return {"version": self.version, "zh_CN": self.zh_CN, "en": self.en, "guardian_age": self.guardian_age}


@dataclass(frozen=True)
class Answer:
    """The resident's answer on the screen."""

    given: bool
    minor: bool
    guardian_consent: bool

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> Answer | None:
        """``{"consent": true|false, "minor": bool, "guardian_consent": bool}``; None when the
        request carries no answer at all."""
        if "consent" not in args:
            return None
        values = (args.get("consent"), args.get("minor", False), args.get("guardian_consent", False))
        if not all(isinstance(v, bool) for v in values):
            raise ConsentRefused("同意与否请用是/否", "consent, minor and guardian_consent are true or false",
                                 "bad-request")
        return cls(values[0] is True, values[1] is True, values[2] is True)


def check(answer: Answer | None, guardian_age: int = DEFAULT_GUARDIAN_AGE) -> Answer:
    """The answer that allows recording, or the refusal to say on screen."""
    if answer is None:
        raise ConsentRefused("请先阅读个人信息告知并选择是否同意",
                             "please read the privacy notice and answer yes or no",
                             "consent-needed")
    if not answer.given:
        raise ConsentRefused("未同意个人信息告知，不能登记",
                             "without consent to the privacy notice nothing is recorded",
                             "consent-refused")
    if answer.minor and not answer.guardian_consent:
        raise ConsentRefused(f"未满 {guardian_age} 周岁须监护人在场并同意",
                             f"under {guardian_age}: a guardian must be present and agree", "guardian-needed")
    return answer


def given_body(learner: str, temporary: bool, notice: Notice, answer: Answer, how: str,
               staff_id: str | None) -> dict[str, Any]:
    """The ``consent`` record's body for a consent given (the answer already :func:`check` ed)."""
    assert how in HOW
    return {"v": 1, "learner": learner, "temporary": temporary, "status": GIVEN, "notice": notice.version,
            "collected": list(notice.collected), "purposes": list(notice.purposes),
            "retention_days": dict(sorted(notice.retention_days.items())), "minor": answer.minor,
            "guardian_consent": answer.guardian_consent, "guardian_age": notice.guardian_age, "how": how,
            "staff_id": staff_id}


def withdrawn_body(learner: str, temporary: bool, notice_version: str, staff_id: str) -> dict[str, Any]:
    """Staff recorded that the resident withdrew the consent given to ``notice_version``."""
    return {"v": 1, "learner": learner, "temporary": temporary, "status": WITHDRAWN, "notice": notice_version,
            "how": "staff-touchscreen", "staff_id": staff_id}


def parse_retention(text: str) -> dict[str, int]:
    """``attendance.checkin=1095,rating=730`` → {type: days}; empty: keep everything."""
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, days = part.partition("=")
        try:
            out[name.strip()] = int(days)
        except ValueError as err:
            raise ValueError(f"保存期限格式不对 / privacy.retention_days {part!r}: expected TYPE=DAYS") from err
        if out[name.strip()] < 1:
            raise ValueError(f"保存期限至少 1 天 / privacy.retention_days {part!r}: at least 1 day")
    return out
