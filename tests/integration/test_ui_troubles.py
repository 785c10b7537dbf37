"""Issue 11 (deliverables 2 and 7) and issue 14's certificate warning on the touchscreen: a
real agent with a signing key other than the enrolled one, an uplink that cannot connect, a
certificate ending in 20 days and the gateway holding its records. Residents see the paused
screen; staff see each problem and what to do, in zh_CN and en. Offscreen Kivy, driven
by tests/support/ui_troubles_driver.py in its own process."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.ui_run import run_driver, said


@pytest.fixture(scope="module", params=["zh_CN", "en"])
def seen(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    language = request.param
    folder = tmp_path_factory.mktemp(f"ui-troubles-{language}")
    return language, run_driver("tests.support.ui_troubles_driver", folder, language, timeout=240)


def test_residents_see_check_in_paused(seen) -> None:
    """The full-screen 暂停使用 with the cause (i15's paused screen), not a tap prompt."""
    language, s = seen
    assert "paused" == s["idle"]["screen"]
    assert said(language, "暂停使用", "Out of service") in s["idle"]["headline"]
    assert said(language, "签名密钥与登记的不一致", "signing key is not the enrolled one") in s["idle"]["reason"]
    assert ("refused", "signing-key-mismatch") == (s["tap"]["outcome"], s["tap"]["reason"])


def test_staff_see_every_problem_and_what_to_do(seen) -> None:
    language, s = seen
    assert "staff" == s["staff"]["screen"]  # the staff card still opens staff mode
    lines = s["staff"]["panel"].split("\n")[:4]  # first, at the top of staff mode
    assert all(line.startswith(("!", "！")) for line in lines), lines
    identity, hold, uplink, certificate = lines
    assert said(language, "签名密钥与登记的不一致", "signing key other than the one it was enrolled") in identity
    assert "keygen" not in identity and said(language, "县信息中心", "county IT") in identity
    assert "unknown-kiosk" in hold and said(language, "加入登记表", "add this kiosk to the registry") in hold
    assert said(language, "代理服务器拒绝连接", "the broker refused the connection") in uplink
    assert said(language, "请检查网络", "check the network") in uplink
    assert said(language, "天后到期", "expires in") in certificate
    assert said(language, "签到 0 人次", "0 check-ins") in s["figures"]["output"]
    assert all(line in s["figures"]["output"] for line in lines)  # with today's figures too


def test_status_carries_what_the_screen_shows(seen) -> None:
    _, s = seen
    health = s["status"]
    assert "signing-key-mismatch" == health["identity"]["code"]
    assert "refused" == health["uplink_problem"]["cause"]
    assert {"zh_CN", "en"} == set(health["certificate"])
    assert "gateway-hold" in health["alarms"]
