"""Study-hour rules: pairing, debounce, credited minutes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
    max_day_minutes,
    max_session_minutes,
    seconds_between,
)

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 23, 9, 2, tzinfo=CST)
S = 1_000_000_000


def at(seconds: int, boot: str = "b1", wall_shift: int = 0) -> Moment:
    return Moment(T0 + timedelta(seconds=seconds + wall_shift), seconds * S, boot)


class TestDecideTap:
    def test_first_tap_checks_in(self) -> None:
        assert "checkin" == decide_tap(at(0), None, None, 120).action

    def test_repeat_inside_window_is_duplicate_with_time(self) -> None:
        d = decide_tap(at(60), OpenCheckin("r1", 1, None, at(0)), LastTap("checkin", at(0)), 120)
        assert "duplicate" == d.action
        assert ("您已在 09:02 签到，无需重复刷卡", "Already checked in at 09:02") == duplicate_message(d.previous, True)

    def test_tap_after_window_checks_out_with_seconds(self) -> None:
        d = decide_tap(at(3600), OpenCheckin("r1", 1, None, at(0)), LastTap("checkin", at(0)), 120)
        assert ("checkout", 3600) == (d.action, d.seconds_present)

    def test_duration_uses_monotonic_within_a_boot(self) -> None:
        """The wall clock jumped back an hour: the monotonic clock still says 30 minutes."""
        start, end = at(0), at(1800, wall_shift=-3600)
        assert 1800 == seconds_between(start, end)

    def test_across_reboot_uses_wall_time_never_negative(self) -> None:
        assert 600 == seconds_between(at(0), Moment(T0 + timedelta(seconds=600), 5 * S, "b2"))
        assert 0 == seconds_between(at(0), Moment(T0 - timedelta(hours=1), 5 * S, "b2"))

    def test_clock_jump_back_inside_window_still_debounces(self) -> None:
        last = LastTap("checkout", at(100))
        now = Moment(T0 - timedelta(hours=1), 5 * S, "b2")
        assert "duplicate" == decide_tap(now, None, last, 120).action


class TestCreditedMinutes:
    rule = CreditRule(min_share_percent=50, rounding_minutes=15, daily_self_study_cap_minutes=240)

    def test_session_rounding_and_cap(self) -> None:
        assert 60 == credited_minutes(74 * 60, self.rule, planned_seconds=90 * 60)
        assert 90 == credited_minutes(200 * 60, self.rule, planned_seconds=90 * 60)

    def test_below_minimum_share_earns_nothing(self) -> None:
        assert 0 == credited_minutes(44 * 60, self.rule, planned_seconds=90 * 60)
        assert 45 == credited_minutes(45 * 60, self.rule, planned_seconds=90 * 60)

    def test_self_study_daily_cap(self) -> None:
        assert 240 == credited_minutes(6 * 3600, self.rule, None)
        assert 30 == credited_minutes(3600, self.rule, None, self_study_minutes_today=210)
        assert 0 == credited_minutes(3600, self.rule, None, self_study_minutes_today=240)

    def test_no_cap_when_configured(self) -> None:
        rule = CreditRule(cap_at_session=False, rounding_minutes=1)
        assert 200 == credited_minutes(200 * 60, rule, planned_seconds=90 * 60)

    def test_bad_rules_refused(self) -> None:
        with pytest.raises(ValueError):
            CreditRule(rounding_minutes=0)
        with pytest.raises(ValueError):
            CreditRule(min_share_percent=101)

    @given(
        seconds=st.integers(min_value=0, max_value=86_400),
        planned=st.one_of(st.none(), st.integers(min_value=60, max_value=86_400)),
        today=st.integers(min_value=0, max_value=600),
        unit=st.sampled_from([1, 5, 15, 30]),
    )
    def test_never_more_than_present_or_planned(self, seconds, planned, today, unit) -> None:
        rule = CreditRule(rounding_minutes=unit)
        got = credited_minutes(seconds, rule, planned, today)
        assert 0 <= got <= seconds // 60
        assert got % unit == 0
        if planned is not None:
            assert got <= planned // 60
        else:
            assert got <= max(0, rule.daily_self_study_cap_minutes - today)


class TestCountyRules:
    """The county's named credit rules: caps per session and per day, rounding, and what a
    check-in never checked out earns."""

    def test_a_forgotten_check_out_earns_nothing_by_default(self) -> None:
        """Issue 12: a forgotten self-study check-out earned the whole daily cap (240)."""
        rule = CreditRule()
        assert 0 == expired_minutes(rule, None)
        assert 0 == expired_minutes(rule, 90 * 60)

    def test_the_county_may_credit_the_planned_time_instead(self) -> None:
        rule = CreditRule(no_checkout="planned")
        assert 90 == expired_minutes(rule, 90 * 60)
        assert 0 == expired_minutes(rule, None)  # self-study has no planned time
        assert 60 == expired_minutes(CreditRule(no_checkout="planned", daily_cap_minutes=120), 90 * 60, 0, 60)

    def test_caps_per_session_and_per_day(self) -> None:
        rule = CreditRule(rounding_minutes=5, session_cap_minutes=60, daily_cap_minutes=100)
        assert 60 == credited_minutes(90 * 60, rule, 90 * 60)
        assert 40 == credited_minutes(90 * 60, rule, 90 * 60, minutes_today=60)
        assert 0 == credited_minutes(90 * 60, rule, 90 * 60, minutes_today=100)

    def test_rounding_to_the_nearest_step_never_passes_a_cap(self) -> None:
        rule = CreditRule(rounding="nearest", rounding_minutes=15, min_share_percent=0)
        assert 60 == credited_minutes(53 * 60, rule, 90 * 60)
        assert 45 == credited_minutes(52 * 60, rule, 90 * 60)
        assert 75 == credited_minutes(80 * 60, rule, 80 * 60)  # 80 → 75, not 90 over the session's 80

    def test_bounds_for_plausibility_checks(self) -> None:
        """The most one attendance or one day can be credited under a rule."""
        assert 90 == max_session_minutes(CreditRule(), 90 * 60)
        assert 240 == max_session_minutes(CreditRule(), None)
        assert 45 == max_session_minutes(CreditRule(session_cap_minutes=45), 90 * 60)
        assert 1440 == max_day_minutes(CreditRule())
        assert 300 == max_day_minutes(CreditRule(daily_cap_minutes=300))

    def test_old_records_rules_still_read(self) -> None:
        """A version-1 record's credit_rule (four keys) makes the same rule."""
        old = {"min_share_percent": 50, "rounding_minutes": 15, "cap_at_session": True,
               "daily_self_study_cap_minutes": 240}
        assert CreditRule() == CreditRule.from_dict(old)
        with pytest.raises(ValueError, match="unknown credit-rule settings"):
            CreditRule.from_dict({**old, "generous": True})
        with pytest.raises(ValueError, match="must be int"):
            CreditRule.from_dict({**old, "rounding_minutes": "15"})

    def test_a_rule_book_names_its_default_and_manual_choices(self) -> None:
        book = RuleBook.from_body({"default": "short", "rules": {"short": {"min_share_percent": 80}}})
        assert 80 == book.get(None).min_share_percent and 80 == book.get("missing").min_share_percent
        assert "forgot-card" in [r["id"] for r in book.manual_reasons]
        assert book == RuleBook.from_body(book.body())
        with pytest.raises(ValueError, match="default credit rule"):
            RuleBook.from_body({"default": "x", "rules": {"short": {}}})
        assert default_rule_book().get(None) == CreditRule()
