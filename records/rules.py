"""Study-hour rules: pairing check-in and check-out, debouncing taps, crediting minutes.

Everything takes ``now`` (wall time), the monotonic reading and the boot id as
arguments. Durations come from the monotonic clock when both ends were made in the same
boot, otherwise from wall time (never negative).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CreditRule:
    """A county's rule for turning presence into credited minutes.

    min_share_percent: below this share of the session's planned length, no credit.
    rounding_minutes: credited minutes are rounded down to a multiple of this.
    cap_at_session: never credit more than the session's planned length.
    daily_self_study_cap_minutes: most self-study minutes a learner earns per day.
    """

    min_share_percent: int = 50
    rounding_minutes: int = 15
    cap_at_session: bool = True
    daily_self_study_cap_minutes: int = 240

    def __post_init__(self) -> None:
        if not 0 <= self.min_share_percent <= 100:
            raise ValueError("min_share_percent is 0..100")
        if self.rounding_minutes < 1:
            raise ValueError("rounding_minutes is at least 1")
        if self.daily_self_study_cap_minutes < 0:
            raise ValueError("daily_self_study_cap_minutes is not negative")

    def as_dict(self) -> dict[str, int | bool]:
        return {
            "min_share_percent": self.min_share_percent,
            "rounding_minutes": self.rounding_minutes,
            "cap_at_session": self.cap_at_session,
            "daily_self_study_cap_minutes": self.daily_self_study_cap_minutes,
        }


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


def credited_minutes(
    seconds_present: int,
    rule: CreditRule,
    planned_seconds: int | None,
    self_study_minutes_today: int = 0,
) -> int:
    """Minutes credited for one attendance.

    ``planned_seconds`` is the session's planned length, or None for self-study (then
    the daily cap applies, less what the learner already earned today).
    """
    if seconds_present <= 0:
        return 0
    minutes = seconds_present // 60
    if planned_seconds is not None and planned_seconds > 0:
        if seconds_present * 100 < planned_seconds * rule.min_share_percent:
            return 0
        if rule.cap_at_session:
            minutes = min(minutes, planned_seconds // 60)
    elif planned_seconds is None:
        left = max(0, rule.daily_self_study_cap_minutes - self_study_minutes_today)
        minutes = min(minutes, left)
    return minutes - minutes % rule.rounding_minutes


def duplicate_message(previous: Moment, checked_in: bool) -> tuple[str, str]:
    """The answer to a repeated tap, in zh_CN and en: "already checked in at 09:02"."""
    hhmm = previous.wall.strftime("%H:%M")
    if checked_in:
        return (f"您已在 {hhmm} 签到，无需重复刷卡", f"Already checked in at {hhmm}")
    return (f"您已在 {hhmm} 签退，无需重复刷卡", f"Already checked out at {hhmm}")
