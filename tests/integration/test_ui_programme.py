"""The programme's screens on the touchscreen, offscreen, against a real agent, in zh_CN and
en: registration from the idle screen (a place, then the waiting list), staff picking a
session from the programme or starting one of the venue's courses, manual attendance from
choices and the keypad — and only what the rules offer reaches the records.

With LEARNCARD_SCREENSHOTS=<folder> every screen is saved as a PNG there
(docs/screenshots/ holds the latest ones)."""

from __future__ import annotations

import pytest

from tests.support.ui_run import ROOT, run_driver, said


@pytest.fixture(scope="module", params=["zh_CN", "en", "zh_CN@1024x600"])
def seen(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    language, _, panel = request.param.partition("@")  # the small panel too: the idle screen's courses fit
    folder = tmp_path_factory.mktemp(f"ui-programme-{language}")
    return language, run_driver("tests.support.ui_programme_driver", folder, language, timeout=300,
                                env={"LC_PANEL": panel or "1280x800"})


class TestRegistration:
    def test_the_idle_screen_offers_registration(self, seen) -> None:
        language, s = seen
        assert said(language, "报名", "Register") == s["idle_register"]["register"]
        assert "register" == s["register"]["screen"]

    def test_the_idle_screen_lists_the_next_courses_and_its_button_arms_one(self, seen) -> None:
        """The next courses that take registrations (title, day and time, places) on the idle
        screen itself; pressing one's 报名 opens the registration screen with that course armed."""
        language, s = seen
        rows = s["idle_courses"]
        assert 1 <= len(rows) <= 3
        assert [said(language, "《智能手机入门》\n周一 09:00–10:30 · 已报 0/2", "《Smartphone basics》\nMon 09:00–10:30 · 0/2 registered"),
                said(language, "报名", "Register")] == rows[0]
        assert any(said(language, "书法", "Calligraphy") in r[0] and said(language, "周三", "Wed") in r[0] for r in rows)
        assert not any(said(language, "太极拳", "Tai chi") in r[0] for r in rows)  # takes no registrations
        assert "register" == s["idle_register_pressed"]["screen"]
        assert said(language, "请刷卡或扫码完成报名：《智能手机入门》", "Now tap your card to register: Smartphone basics") \
            in s["idle_register_pressed"]["prompt"]
        assert "phone-basics" == s["idle_intent"]
        sizes = s["idle_sizes"]
        assert min(sizes["button_dp"]) >= 80 and sizes["text_dp"] >= 26 and sizes["fits"], sizes

    def test_a_place_then_the_waiting_list(self, seen) -> None:
        language, s = seen
        assert said(language, "请刷卡或扫码完成报名", "Now tap your card to register") in s["register_armed"]["prompt"]
        assert said(language, "报名成功", "Registered") in s["registered"]["answer"]
        assert said(language, "候补名单第 1 位", "number 1 on the waiting list") in s["waiting"]["answer"]
        statuses = [r["status"] for r in s["records"] if r["type"] == "enrollment" and not r["temporary"]]
        assert ["registered", "registered", "waiting"] == statuses


class TestStaff:
    def test_sessions_are_picked_not_typed(self, seen) -> None:
        language, s = seen
        planned = said(language, "太极拳  15:00–16:00", "Tai chi  15:00–16:00")
        assert planned in s["staff_pick_session"]["buttons"]
        assert said(language, "临时：书法", "Now: Calligraphy") in s["staff_pick_session"]["buttons"]
        assert said(language, "60 分钟", "60 min") in s["staff_pick_minutes"]["buttons"]
        opened = [r for r in s["records"] if r["type"] == "session.opened" and r.get("how") == "ad-hoc"]
        assert [("tai-chi", "sports-fitness", "practice", "all")] == [
            (r["course_id"], r["category"], r["form"], r["audience"]) for r in opened]

    def test_manual_attendance_from_choices_and_the_keypad(self, seen) -> None:
        language, s = seen
        assert 3 == len(s["manual_pick_learner"]["buttons"])  # the two registered residents, and the keypad
        assert said(language, "忘带卡", "Forgot the card") in s["manual_pick_reason"]["buttons"]
        assert said(language, "45 分钟", "45 min") in s["manual_pick_minutes"]["buttons"]
        assert said(language, "已补录", "Recorded") in s["manual_recorded"]["output"]
        (manual,) = [r for r in s["records"] if r["type"] == "attendance.manual"]
        assert ("9876543210987", "forgot-card", 45, "s-0001") == (
            manual["learner"], manual["reason"], manual["minutes_credited"], manual["staff_id"])
        phone = next(r for r in s["records"] if r["type"] == "session.opened" and r["course_id"] == "phone-basics")
        assert phone["session_id"] == manual["session_id"]  # the session staff picked

    def test_the_roster_shows_registered_and_present(self, seen) -> None:
        language, s = seen
        assert said(language, "已报名 2 人", "2 registered") in s["staff_roster"]["output"]
        assert said(language, "已到", "here") in s["staff_roster"]["output"]


def test_nothing_hard_coded_in_the_ui_reaches_a_record() -> None:
    """The strings the old staff screen put into signed records are gone from kiosk/ui."""
    for path in (ROOT / "kiosk" / "ui").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for banned in ("elder-education", "忘带卡", "智能手机入门"):
            assert banned not in text, f"{banned} in {path}"


class TestConsent:
    """Issue 17: the notice and yes/no with big buttons, no typing, before a first registration
    and a walk-in's enrolment; "no" records nothing; a minor needs the guardian."""

    def test_a_first_registration_shows_the_notice_and_asks(self, seen) -> None:
        language, s = seen
        panel = s["register_consent_panel"]
        assert said(language, "个人信息告知", "Privacy notice") == panel["title"]
        assert said(language, "学习码", "learner code") in panel["notice"]  # the county's words ([privacy])
        assert (said(language, "同意", "I agree"), said(language, "不同意", "I do not agree")) == (
            panel["yes"], panel["no"])
        age = s["register_consent_age_panel"]  # the county's privacy.guardian_age (the PIPL's 14 by default)
        assert (said(language, "学员未满 14 周岁吗？", "Is the learner under 14?"), said(language, "未满 14 周岁", "Under 14"),
                said(language, "已满 14 周岁", "14 or over")) == (age["question"], age["yes"], age["no"])
        consents = [r for r in s["records"] if r["type"] == "consent"]
        registered = [r for r in consents if not r["temporary"]]
        assert 3 == len(registered) and all(r["how"] == "card-tap" and not r["minor"] for r in registered)

    def test_a_walk_in_no_records_nothing_and_a_minor_needs_the_guardian(self, seen) -> None:
        language, s = seen
        assert said(language, "未同意", "without consent") in s["walkin_refused"]["output"]
        walkins = [r for r in s["records"] if r["type"] == "consent" and r["temporary"]]
        assert [(True, True, "staff-touchscreen")] == [(r["minor"], r["guardian_consent"], r["how"])
                                                        for r in walkins]
        enrolled = [r for r in s["records"] if r["type"] == "enrollment" and r["temporary"]]
        assert [walkins[0]["learner"]] == [r["learner"] for r in enrolled]
        assert walkins[0]["learner"] in s["walkin_enrolled"]["output"]

