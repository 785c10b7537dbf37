"""The touchscreen, offscreen, against a real agent: residents and staff, in zh_CN and en.

Each run is its own process (Kivy's window is global). With LEARNCARD_SCREENSHOTS=<folder>
every screen is also saved as a PNG there (docs/screenshots/ holds the latest ones)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=["zh_CN", "en"])
def seen(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    language = request.param
    folder = tmp_path_factory.mktemp(f"ui-{language}")
    out = folder / "seen.json"
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.update(SDL_VIDEODRIVER="offscreen", KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1",
               KIVY_HOME=str(folder / "kivy"), PYTHONPATH=str(ROOT))
    args = [sys.executable, "-m", "tests.support.ui_driver", str(out), language]
    if os.environ.get("LEARNCARD_SCREENSHOTS"):
        args.append(os.environ["LEARNCARD_SCREENSHOTS"])
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert 0 == result.returncode, result.stderr[-3000:]
    data = json.loads(out.read_text())
    assert "error" not in data, data["error"]
    return language, data


def said(language: str, zh: Any, en: Any) -> Any:
    return en if language == "en" else zh


class TestResidents:
    def test_idle_screen(self, seen) -> None:
        language, s = seen
        assert said(language, "请刷卡或扫码", "Tap your card or show your code") == s["idle"]["instruction"]
        assert "城关镇社区学校" == s["idle"]["venue"]
        assert said(language, "English", "中文") == s["idle"]["language"]

    def test_check_in_greets_by_masked_name_and_speaks(self, seen) -> None:
        language, s = seen
        r = s["checkin"]
        assert ("result", "√") == (r["screen"], r["icon"])
        assert said(language, "王*明，您好", "Hello, 王*明") == r["greeting"]
        assert said(language, "签到成功", "Checked in") in r["message"]
        assert r["message"] == r["spoken"][-1]  # the spoken sentence is the shown one

    def test_duplicate_says_when(self, seen) -> None:
        language, s = seen
        assert "！" == s["duplicate"]["icon"]
        assert said(language, "签到", "Already checked in at") in s["duplicate"]["message"]

    def test_refused_card_says_what_to_do(self, seen) -> None:
        language, s = seen
        r = s["rejected"]
        assert "×" == r["icon"]
        assert said(language, "挂失", "revoked") in r["message"]
        assert said(language, "服务台", "staff desk") in r["advice"]

    def test_check_out_offers_a_rating_that_costs_nothing(self, seen) -> None:
        language, s = seen
        assert s["checkout"]["rate_prompt"]
        words = [s["checkout"][f"face{i}"] for i in range(1, 6)]  # every drawn face has its word
        assert words == said(language, ["很差", "较差", "一般", "满意", "很好"], ["poor", "fair", "OK", "good", "great"])
        assert said(language, "今年在本馆累计", "This year at this venue") in s["checkout"]["details"]
        assert 1 == s["ratings"]
        assert "" == s["rated"]["rate_prompt"]


class TestStaff:
    def test_wrong_pin_then_login(self, seen) -> None:
        language, s = seen
        assert said(language, "还可以再试 2 次", "2 attempts left") in s["pin"]["error"]
        assert "staff" == s["staff"]["screen"] and "s-0001" in s["staff"]["title"]

    def test_session_roster_manual_walkin_figures_close(self, seen) -> None:
        language, s = seen
        assert s["roster"]["output"].startswith(said(language, "在场 1 人 / 签到 1 人次", "1 present / 1 check-ins"))
        assert said(language, "已补录：*********0987", "Recorded: *********0987") in s["manual"]["output"]
        assert "T" in s["walkin"]["output"] and s["walkin_slip_shown"]
        assert s["figures"]["output"]
        assert said(language, "自动签退 1 人", "1 checked out automatically") in s["closed"]["output"]
        assert 2 == s["auto_checkouts"]  # the resident's own, and the automatic one

    def test_lockout_and_lock(self, seen) -> None:
        language, s = seen
        assert "idle" == s["locked"]["screen"]
        assert said(language, "已锁定", "locked") in s["lockout"]["error"]
