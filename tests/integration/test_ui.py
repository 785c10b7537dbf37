"""The touchscreen, offscreen, against a real agent: residents and staff, in zh_CN and en, on
a 7-inch 1024×600 and a 10.1-inch 1280×800 panel (dp made real by the density setting).

Every press is a pointer event through Kivy's input; speech is on, into a recording sink that
keeps the audio espeak-ng rendered. Each run is its own process (Kivy's window is global).
With LEARNCARD_SCREENSHOTS=<folder> every screen is also saved there (docs/screenshots/)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kiosk.ui import theme

ROOT = Path(__file__).resolve().parents[2]
PANELS = [("1024x600", "7"), ("1280x800", "10.1")]


def drive(folder: Path, language: str, pixels: str, inches: str, mode: str) -> dict[str, Any]:
    out = folder / "seen.json"
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.update(SDL_VIDEODRIVER="offscreen", KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1",
               KIVY_HOME=str(folder / "kivy"), PYTHONPATH=str(ROOT))
    args = [sys.executable, "-m", "tests.support.ui_driver", str(out), language, pixels, inches, mode]
    if os.environ.get("LEARNCARD_SCREENSHOTS"):
        args.append(os.environ["LEARNCARD_SCREENSHOTS"])
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert 0 == result.returncode, result.stderr[-3000:]
    data = json.loads(out.read_text())
    assert "error" not in data, data["error"]
    return data


@pytest.fixture(scope="module", params=[(lang, *panel) for lang in ("zh_CN", "en") for panel in PANELS],
                ids=lambda p: f"{p[0]}-{p[1]}")
def seen(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    language, pixels, inches = request.param
    return language, drive(tmp_path_factory.mktemp(f"ui-{language}-{pixels}"), language, pixels, inches, "flows")


def said(language: str, zh: Any, en: Any) -> Any:
    return en if language == "en" else zh


SCREENS = ["idle", "checkin", "draining", "duplicate", "rejected", "checkout", "rated", "pin", "staff", "overlay",
           "roster", "keypad_bad_code", "manual", "walkin", "figures", "corrections", "void_reason",
           "void_confirm", "voided", "void_refused", "closed", "idle_warning", "locked", "lockout",
           "paused_clock", "paused_reader", "language_toggled"]


class TestResidents:
    def test_idle_screen(self, seen) -> None:
        language, s = seen
        assert said(language, "请刷卡或出示二维码", "Tap your card or show your code") == s["idle"]["instruction"]
        assert "扫码" not in s["idle"]["instruction"]
        assert "城关镇社区学校" == s["idle"]["venue"]
        assert said(language, "English", "中文") == s["idle"]["language"]
        assert said(language, "下方", "below") in s["idle"]["picture_caption"]
        words = " ".join(w["text"] for w in s["idle"]["widgets"])
        assert not any(word in words for word in ("联网", "离线", "online", "offline"))  # staff's business
        # no course of this programme takes registrations: no course list, the one 报名 stays
        assert not any(w["text"].startswith("《智能手机入门》\n") for w in s["idle"]["widgets"])
        assert said(language, "报名", "Register") == s["idle"]["register"]

    def test_check_in_greets_speaks_the_whole_answer_into_the_sink(self, seen) -> None:
        language, s = seen
        r = s["checkin"]
        assert "result" == r["screen"]
        assert said(language, "欢迎！签到成功", "Welcome! Checked in") == r["message"]
        assert said(language, "王*明，您好", "Hello, 王*明") == r["greeting"]
        spoken = r["spoken"][-1]
        for part in (r["message"], r["greeting"], *r["details"].split("\n")):  # self-study, today, this year
            assert part in spoken
        assert said(language, "今年在本馆累计", "This year at this venue") in spoken  # the hours too
        assert 1 <= r["wavs"] and s["checkin_wav"] > 22050 * 2 * 2  # over 2 s of rendered audio reached the sink

    def test_speech_is_rendered_outside_the_screens_process(self, seen) -> None:
        """pypinyin (57 MB, Python-heavy) never in the screen's process or on its main thread."""
        _, s = seen
        apart = s["speech_apart"]
        assert not apart["pypinyin_here"]
        assert apart["renderer"] and apart["renderer"] != apart["screen"]

    def test_a_changed_headline_is_drawn_into_another_texture(self, seen) -> None:
        """Not into the texture the last frame drew: uploading into a texture still drawn waited up
        to 1.35 s under llvmpipe (docs/ui.md); a label keeps two and takes turns."""
        _, s = seen
        assert s["headline_texture_new"]

    def test_repeat_button_speaks_again(self, seen) -> None:
        _, s = seen
        assert s["repeat_wavs"] == s["checkin"]["wavs"] + 1

    def test_result_drains_and_returns_to_the_tap_prompt(self, seen) -> None:
        _, s = seen
        assert 0 < s["bar_mid"] < 0.7
        assert "idle" == s["timed_out"]["screen"]

    def test_duplicate_says_when(self, seen) -> None:
        language, s = seen
        assert said(language, "签到", "Already checked in at") in s["duplicate"]["message"]

    def test_the_next_tap_replaces_a_result_at_once(self, seen) -> None:
        language, s = seen
        r = s["rejected"]
        assert said(language, "不能使用这张卡", "This card cannot be used") == r["message"]
        assert said(language, "挂失", "lost") in r["details"]
        assert said(language, "补办新卡", "new card") in r["advice"]

    def test_check_in_and_check_out_differ_in_first_word(self, seen) -> None:
        language, s = seen
        assert said(language, "欢迎", "Welcome") == s["checkin"]["message"][:len(said(language, "欢迎", "Welcome"))]
        assert said(language, "再见", "Goodbye") == s["checkout"]["message"][:len(said(language, "再见", "Goodbye"))]
        assert theme.OUTCOMES["checkin"][0] != theme.OUTCOMES["checkout"][0]

    def test_check_out_offers_a_rating_that_waits(self, seen) -> None:
        language, s = seen
        assert s["checkout"]["rate_prompt"]
        words = [s["checkout"][f"face{i}"] for i in range(1, 6)]
        assert words == said(language, ["很差", "较差", "一般", "满意", "很好"], ["poor", "fair", "OK", "good", "great"])
        assert said(language, "今年在本馆累计", "This year at this venue") in s["checkout"]["details"]
        assert "\n" not in s["checkout"]["message"]  # the headline alone in the banner
        assert s["rating_still_up"]  # past the 10 s result time
        assert 1 == s["ratings"]
        assert "" == s["rated"]["rate_prompt"]


class TestStaff:
    def test_pin_keypad_keys_stay_put_and_backspace_works(self, seen) -> None:
        language, s = seen
        assert s["keys_fixed"]
        assert 3 == s["pin_dots_after_back"]  # 0, 0, 0, back, 0
        assert said(language, "还可以再试 2 次", "2 attempts left") in s["pin"]["error"]
        assert "staff" == s["staff"]["screen"] and "s-0001" in s["staff"]["title"]

    def test_a_tap_during_staff_mode_shows_an_overlay(self, seen) -> None:
        language, s = seen
        o = s["overlay"]
        assert "staff" == o["screen"] and o["overlay"]
        assert said(language, "签到成功", "Checked in") in o["overlay_text"]
        assert s["overlay_closed"]

    def test_learner_code_on_the_keypad_with_the_luhn_check(self, seen) -> None:
        language, s = seen
        assert said(language, "号码有误", "Wrong number") in s["bad_code_error"]
        assert [] == s["bad_code_sent"]
        assert ["9876543210987"] == s["code_entered"]
        assert said(language, "已补录：*********0987", "Recorded: *********0987") in s["manual"]["output"]

    def test_session_roster_figures_close_in_the_screen_language(self, seen) -> None:
        language, s = seen
        assert s["roster"]["output"].startswith(said(language, "在场 1 人 / 签到 1 人次", "1 present / 1 check-ins"))
        assert "T" in s["walkin"]["output"]
        figures = s["figures"]["output"]
        assert figures
        if language == "zh_CN":  # no English leaking into zh_CN
            assert not re.search("[A-Za-z]{2,}", figures), figures
        assert said(language, "自动签退 1 人", "1 checked out automatically") in s["closed"]["output"]
        assert 2 == s["auto_checkouts"]

    def test_sound_panel_and_health(self, seen) -> None:
        language, s = seen
        assert s["volume_after_louder"] > 120
        health = s["staff"]["widgets"]
        assert any(said(language, "声音正常", "sound works") in w["text"] for w in health)

    def test_idle_lock_is_warned_and_can_be_put_off(self, seen) -> None:
        language, s = seen
        assert any(said(language, "秒后自动退出", "Staff mode locks in") in w["text"]
                   for w in s["idle_warning"]["widgets"])
        assert s["still_staff_after_warning"]

    def test_lockout_counts_down_with_the_keys_disabled(self, seen) -> None:
        language, s = seen
        assert "idle" == s["locked"]["screen"]
        assert said(language, "后再试", "try again in") in s["lockout"]["error"]
        assert s["lockout_keys_disabled"] and s["lockout_counts_down"]


class TestCorrections:
    def test_staff_void_a_check_in_on_the_touchscreen(self, seen) -> None:
        """更正 → 作废 on the first check-in → a reason → 确定作废: a signed correction naming the
        staff member and the reason; the row shows voided, the original is still listed."""
        language, s = seen
        assert "corrections" == s["corrections"]["screen"]
        assert said(language, "更正", "Correct") in s["corrections"]["title"]
        assert s["void_rows"] >= 3  # check-ins, the check-out and the manual attendance of today
        assert said(language, "为什么作废", "Why?") in s["void_reason"]["prompt"]
        assert said(language, "记错了人", "recorded for the wrong person") == s["void_reason_text"]
        assert said(language, "原记录保留", "the original stays") in s["void_confirm"]["prompt"]
        assert [{"target": s["void_target"], "reason": "wrong-learner", "staff_id": "s-0001",
                 "action": "void"}] == s["corrections_made"]
        assert said(language, "已作废", "Voided") in s["voided"]["output"]
        assert "2" in s["voided"]["output"]  # the check-in took its check-out with it
        assert s["voided_row_disabled"]
        assert 2 == s["voided_rows"]  # its check-out is listed voided too, and cannot be voided again
        greyed = [w for w in s["voided"]["widgets"] if w["kind"] == "button" and w.get("disabled")]
        assert greyed and all(w["text"] == said(language, "已作废", "Voided") for w in greyed)


    def test_a_stale_row_voided_elsewhere_is_refused_in_words(self, seen) -> None:
        language, s = seen
        assert said(language, "这条记录已经作废", "This record is void already") == s["void_refused"]["output"]
        assert 2 == s["corrections_after_refusal"]  # the one made elsewhere; none added by the refusal


class TestFaults:
    @pytest.mark.parametrize("case", ["paused_clock", "paused_reader"])
    def test_a_fault_pauses_the_screen_says_so_and_clears(self, seen, case: str) -> None:
        language, s = seen
        assert "paused" == s[case]["screen"]
        assert said(language, "暂停使用，请找工作人员", "Out of service: please see the staff") == s[case]["headline"]
        assert said(language, "暂停使用", "out of service") in s[case]["spoken"][-1]
        assert s["clock_cleared"] and s["reader_cleared"]


class TestSizes:
    """Every visible widget of every screen in the live tree, at this panel's real density."""

    @pytest.mark.parametrize("name", SCREENS)
    def test_text_targets_and_contrast(self, seen, name: str) -> None:
        _, s = seen
        widgets = s[name]["widgets"]
        assert widgets
        for w in widgets:
            if w["kind"] == "target":
                assert w["dp"] >= 80 - 0.01, (name, w)
                assert w.get("on_screen", True), (name, w)  # not cut off by the panel's edge
            else:
                assert w["dp"] >= 26 - 0.01, (name, w)
                assert w["contrast"] >= 7.0, (name, w)
                assert not w.get("overflow"), (name, w)

    @pytest.mark.parametrize("name", ["checkin", "duplicate", "rejected", "checkout"])
    def test_result_text_is_large(self, seen, name: str) -> None:
        _, s = seen
        headline = [w for w in s[name]["widgets"] if w["kind"] == "label" and w["text"] == s[name]["message"][:200]]
        assert headline and headline[0]["dp"] >= 48


def test_agent_killed_pauses_the_screen_and_it_comes_back(tmp_path: Path) -> None:
    """A real agent process, killed: the last resident's success must not stay up."""
    s = drive(tmp_path, "zh_CN", "1280x800", "10.1", "agent-kill")
    assert "result" == s["before_kill"]["screen"]
    assert "paused" == s["agent_killed"]["screen"] and s["result_gone"]
    assert "签到服务没有运行" in s["agent_killed"]["reason"]
    assert "idle" == s["agent_back"]["screen"]
