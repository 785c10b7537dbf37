"""Study-hour rules: pairing check-in and check-out, debouncing taps, crediting minutes.

Everything takes ``now`` (wall time), the monotonic reading and the boot id as
arguments. Durations come from the monotonic clock when both ends were made in the same
boot, otherwise from wall time (never negative).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

NO_CHECKOUT = ("nothing", "planned")  # what a check-in never checked out earns
ROUNDING = ("down", "nearest")


@dataclass(frozen=True)
class CreditRule:
    """A county's rule for turning presence into credited minutes.

    min_share_percent: below this share of the session's planned length, no credit.
    rounding_minutes / rounding: credited minutes go to a multiple of this, down or nearest.
    cap_at_session: never credit more than the session's planned length.
    session_cap_minutes: never credit more than this for one attendance (0: no cap).
    daily_cap_minutes: most minutes a learner earns per day, everything counted (0: no cap).
    daily_self_study_cap_minutes: most self-study minutes a learner earns per day.
    no_checkout: what a check-in that is never checked out earns when it expires:
        ``nothing`` (the default) or ``planned`` (the session's planned length; self-study
        still earns nothing). Either way the check-out says ``how: expired``.
    """

    min_share_percent: int = 50
    rounding_minutes: int = 15
    cap_at_session: bool = True
    daily_self_study_cap_minutes: int = 240
    session_cap_minutes: int = 0
    daily_cap_minutes: int = 0
    rounding: str = "down"
    no_checkout: str = "nothing"

    def __post_init__(self) -> None:
        if not 0 <= self.min_share_percent <= 100:
            raise ValueError("min_share_percent is 0..100")
        if not 1 <= self.rounding_minutes <= 240:
            raise ValueError("rounding_minutes is 1..240")
        for name in ("daily_self_study_cap_minutes", "session_cap_minutes", "daily_cap_minutes"):
            if not 0 <= getattr(self, name) <= 1440:
                raise ValueError(f"{name} is 0..1440")
        if self.rounding not in ROUNDING:
            raise ValueError(f"rounding is one of {', '.join(ROUNDING)}")
        if self.no_checkout not in NO_CHECKOUT:
            raise ValueError(f"no_checkout is one of {', '.join(NO_CHECKOUT)}")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> CreditRule:
        """A rule from its dict (a record's ``credit_rule`` or the county's document)."""
        known = {k: values[k] for k in cls.__dataclass_fields__ if k in values}
        extra = sorted(set(values) - set(known) - {"name"})
        if extra:
            raise ValueError(f"unknown credit-rule settings: {', '.join(extra)}")
        for key, value in known.items():
            want = bool if key == "cap_at_session" else str if key in ("rounding", "no_checkout") else int
            if type(value) is not want:
                raise ValueError(f"{key} must be {want.__name__}")
        return cls(**known)

    def as_dict(self) -> dict[str, int | bool | str]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class Moment:
    """When something happened, by every clock the kiosk has."""

    wall: datetime
    mono_ns: int
    bootid: str


@dataclass(frozen=True)
class OpenCheckin:
    """A check-in not yet paired with a check-out."""

    record_id: str
    learner: int
    session_id: str | None  # None: self-study
    at: Moment


@dataclass(frozen=True)
class LastTap:
    """The latest tap the kiosk answered for a learner (for debouncing)."""

    kind: str  # "checkin" or "checkout"
    at: Moment


@dataclass(frozen=True)
class Decision:
    """What a tap means: ``checkin``, ``checkout`` or ``duplicate`` (no record)."""

    action: str
    seconds_present: int = 0
    previous: Moment | None = None  # duplicate: the earlier tap; checkout: the check-in


def seconds_between(start: Moment, end: Moment) -> int:
    """Whole seconds from ``start`` to ``end``: monotonic within one boot, else wall time."""
    if start.bootid == end.bootid and end.mono_ns >= start.mono_ns:
        return (end.mono_ns - start.mono_ns) // 1_000_000_000
    return max(0, int((end.wall - start.wall).total_seconds()))


def decide_tap(
    now: Moment,
    open_checkin: OpenCheckin | None,
    last_tap: LastTap | None,
    debounce_seconds: int,
) -> Decision:
    """Check in, check out, or ignore a repeated tap inside the debounce window."""
    if last_tap is not None and seconds_between(last_tap.at, now) < debounce_seconds:
        # seconds_between never goes negative, so a clock that jumped back debounces too
        return Decision("duplicate", previous=last_tap.at)
    if open_checkin is None:
        return Decision("checkin")
    return Decision(
        "checkout", seconds_present=seconds_between(open_checkin.at, now),
        previous=open_checkin.at,
    )


def _rounded(minutes: int, rule: CreditRule, left: int) -> int:
    """``minutes`` (already capped at ``left``) to the rule's step; rounding to the nearest
    step goes down instead when going up would pass the cap."""
    step = rule.rounding_minutes
    down = minutes - minutes % step
    if rule.rounding == "nearest" and minutes - down >= (step + 1) // 2 and down + step <= left:
        return down + step
    return down


def credited_minutes(
    seconds_present: int,
    rule: CreditRule,
    planned_seconds: int | None,
    self_study_minutes_today: int = 0,
    minutes_today: int = 0,
) -> int:
    """Minutes credited for one attendance that was checked out.

    ``planned_seconds`` is the session's planned length, or None for self-study (then
    the daily self-study cap applies, less what the learner already earned today).
    ``minutes_today``: everything the learner already earned today (for ``daily_cap_minutes``).
    Caps come first, then rounding, and rounding never goes past a cap.
    """
    if seconds_present <= 0:
        return 0
    if planned_seconds and seconds_present * 100 < planned_seconds * rule.min_share_percent:
        return 0
    left = _left(rule, planned_seconds, self_study_minutes_today, minutes_today)
    return _rounded(min(seconds_present // 60, left), rule, left)


def _left(rule: CreditRule, planned_seconds: int | None, self_study_today: int, today: int) -> int:
    """The most one more attendance may earn under the rule's caps."""
    left = 1440
    if planned_seconds is not None and planned_seconds > 0 and rule.cap_at_session:
        left = min(left, planned_seconds // 60)
    if planned_seconds is None:
        left = min(left, max(0, rule.daily_self_study_cap_minutes - self_study_today))
    if rule.session_cap_minutes:
        left = min(left, rule.session_cap_minutes)
    if rule.daily_cap_minutes:
        left = min(left, max(0, rule.daily_cap_minutes - today))
    return left


def expired_minutes(
    rule: CreditRule,
    planned_seconds: int | None,
    self_study_minutes_today: int = 0,
    minutes_today: int = 0,
) -> int:
    """Minutes credited for a check-in never checked out (``how: expired``): the rule's
    ``no_checkout`` outcome — nothing by default; ``planned`` credits a session's planned
    length (within the caps), and self-study still nothing."""
    if rule.no_checkout != "planned" or planned_seconds is None or planned_seconds <= 0:
        return 0
    left = _left(rule, planned_seconds, self_study_minutes_today, minutes_today)
    return _rounded(min(planned_seconds // 60, left), rule, left)


def max_session_minutes(rule: CreditRule, planned_seconds: int | None) -> int:
    """The most one attendance can be credited under ``rule`` (for plausibility checks):
    for a session of ``planned_seconds``, or for self-study when None."""
    return _left(rule, planned_seconds, 0, 0)


def max_day_minutes(rule: CreditRule) -> int:
    """The most a learner can be credited in one day under ``rule`` (1440 when uncapped)."""
    return rule.daily_cap_minutes or 1440


# --- the county's credit-rules document (学时规则) ---------------------------------------

DEFAULT_RULE_NAME = "standard"
# What staff may choose when they record attendance for a resident without a card; the
# county's document may replace both lists (``manual``). The reason's id is what records carry.
DEFAULT_MANUAL_REASONS: tuple[dict[str, str], ...] = (
    {"id": "forgot-card", "zh": "忘带卡", "en": "Forgot the card"},
    {"id": "card-damaged", "zh": "卡片损坏", "en": "Card damaged"},
    {"id": "no-card-yet", "zh": "尚未领卡", "en": "No card yet"},
    {"id": "reader-fault", "zh": "读卡器故障", "en": "Reader fault"},
)
DEFAULT_MANUAL_MINUTES = (15, 30, 45, 60, 90, 120)


@dataclass(frozen=True)
class RuleBook:
    """The named rules of the county's ``credit-rules`` document and which one is the default.

    body = {"default": name, "rules": {name: {CreditRule fields}},
            "manual": {"reasons": [{"id", "zh", "en"}], "minutes": [int]}}  (manual: optional)
    """

    rules: dict[str, CreditRule]
    default: str
    manual_reasons: tuple[dict[str, str], ...] = DEFAULT_MANUAL_REASONS
    manual_minutes: tuple[int, ...] = DEFAULT_MANUAL_MINUTES

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> RuleBook:
        raw = body.get("rules")
        if not isinstance(raw, dict) or not raw:
            raise ValueError("the credit rules name no rule")
        rules = {}
        for name, values in raw.items():
            if not isinstance(values, dict):
                raise ValueError(f"credit rule {name!r} is not a table")
            try:
                rules[str(name)] = CreditRule.from_dict(values)
            except (TypeError, ValueError) as err:
                raise ValueError(f"credit rule {name!r}: {err}") from err
        default = str(body.get("default", DEFAULT_RULE_NAME))
        if default not in rules:
            raise ValueError(f"the default credit rule {default!r} is not defined")
        manual = body.get("manual") or {}
        reasons = tuple(manual.get("reasons") or DEFAULT_MANUAL_REASONS)
        minutes = tuple(manual.get("minutes") or DEFAULT_MANUAL_MINUTES)
        if not all(isinstance(r, dict) and {"id", "zh", "en"} <= set(r) for r in reasons):
            raise ValueError("each manual reason has an id, zh and en")
        if not all(type(m) is int and 1 <= m <= 1440 for m in minutes):
            raise ValueError("manual minutes are whole numbers 1..1440")
        return cls(rules, default, reasons, minutes)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"default": self.default,
                                "rules": {n: r.as_dict() for n, r in sorted(self.rules.items())}}
        if (self.manual_reasons, self.manual_minutes) != (DEFAULT_MANUAL_REASONS, DEFAULT_MANUAL_MINUTES):
            body["manual"] = {"reasons": list(self.manual_reasons), "minutes": list(self.manual_minutes)}
        return body

    def get(self, name: str | None) -> CreditRule:
        return self.rules.get(name or self.default) or self.rules[self.default]


def default_rule_book() -> RuleBook:
    return RuleBook({DEFAULT_RULE_NAME: CreditRule()}, DEFAULT_RULE_NAME)


def duplicate_message(previous: Moment, checked_in: bool) -> tuple[str, str]:
    """The answer to a repeated tap, in zh_CN and en: "already checked in at 09:02"."""
    hhmm = previous.wall.strftime("%H:%M")
    if checked_in:
        return (f"您已在 {hhmm} 签到，无需重复刷卡", f"Already checked in at {hhmm}")
    return (f"您已在 {hhmm} 签退，无需重复刷卡", f"Already checked out at {hhmm}")
