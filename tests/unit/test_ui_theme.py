"""Every text size, touch target and colour pair of the touchscreen meets the elder-first
rules (beyond the national 适老化 guideline): result text ≥ 48, every text ≥ 24, line
spacing ≥ 1.3, targets ≥ 80 × 80 dp, contrast ≥ 7:1."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiosk.ui import theme

SCREENS = Path(theme.__file__).parent / "screens"


def test_result_text() -> None:
    assert theme.RESULT_TEXT >= 48


@pytest.mark.parametrize(("name", "size"), sorted(theme.FONT_SIZES.items()))
def test_every_theme_text_size(name: str, size: int) -> None:
    assert size >= 24, name


def test_line_spacing() -> None:
    assert theme.LINE_HEIGHT >= 1.3


@pytest.mark.parametrize(("name", "side"), sorted(theme.TARGETS.items()))
def test_touch_targets(name: str, side: int) -> None:
    assert side >= 80, name


@pytest.mark.parametrize(("fg", "bg"), theme.PAIRS)
def test_contrast(fg: tuple, bg: tuple) -> None:
    assert theme.contrast(fg, bg) >= 7.0, (fg, bg, theme.contrast(fg, bg))


def test_contrast_formula() -> None:
    assert 21.0 == pytest.approx(theme.contrast((0, 0, 0), (1, 1, 1)), abs=0.01)


@pytest.mark.parametrize("kv", sorted([*SCREENS.glob("*.kv"), *SCREENS.parent.glob("widgets/*.kv")]),
                         ids=lambda p: p.name)
def test_layouts_use_no_smaller_literal_sizes(kv: Path) -> None:
    """A size written into a layout instead of taken from the theme must still meet the rules."""
    text = kv.read_text()
    for value in re.findall(r"font_size:\s*sp\((\d+)\)", text):
        assert int(value) >= 24, f"{kv.name}: font_size sp({value})"
    assert "font_size: sp(theme." in text or "font_size" not in text


def test_outcomes_never_by_colour_alone() -> None:
    icons = [icon for _, _, icon in theme.OUTCOMES.values()]
    assert all(icons)
    assert len({theme.OUTCOMES["checkin"][2], theme.OUTCOMES["rejected"][2], theme.OUTCOMES["duplicate"][2]}) == 3


@pytest.mark.parametrize("score", [1, 2, 3, 4, 5])
def test_rating_faces_smile_more_as_the_score_rises(score: int) -> None:
    from kiosk.ui.screens.face import mouth

    ys = mouth(0, 0, 100, score)[1::2]
    corner, middle = ys[0], ys[len(ys) // 2]
    assert ys[0] == ys[-1]  # symmetric
    if score > 3:
        assert corner > middle
    elif score < 3:
        assert corner < middle
    else:
        assert corner == middle
    lifts = [mouth(0, 0, 100, s)[1] - mouth(0, 0, 100, s)[13] for s in range(1, 6)]
    assert lifts == sorted(lifts) and len(set(lifts)) == 5


@pytest.mark.parametrize(("pixels", "inches", "expected"), [("1024x600", 7, 1.0597), ("1280x800", 10.1, 0.9341),
                                                            ("1280x800", 7, 1.3477)])
def test_density_makes_dp_real(pixels: str, inches: float, expected: float) -> None:
    """One dp is 1/160 inch on the glass: 26 sp on a 7-inch 1280×800 panel is 35 pixels, not 26."""
    assert expected == pytest.approx(theme.density(pixels, inches), abs=1e-4)


@pytest.mark.parametrize(("pixels", "inches"), [("", 7), ("1280x800", ""), ("1280x800", 0), ("wide", 7)])
def test_no_density_without_a_size(pixels: str, inches: object) -> None:
    assert theme.density(pixels, inches) is None  # type: ignore[arg-type]


def test_check_in_and_check_out_look_different() -> None:
    assert theme.OUTCOMES["checkin"][0] != theme.OUTCOMES["checkout"][0]


@pytest.mark.parametrize(("seconds", "zh", "en"), [(50 * 60, "50分钟", "50 min"), (120 * 60, "120分钟", "120 min"),
                                                   (150 * 60, "2小时30分钟", "2 h 30 min"), (180 * 60, "3小时", "3 h")])
def test_minutes_and_hours_only_above_120_minutes(seconds: int, zh: str, en: str) -> None:
    from kiosk.messages import duration_text, duration_text_en

    assert (zh, en) == (duration_text(seconds), duration_text_en(seconds))


def test_no_english_in_zh_cn_texts() -> None:
    import re

    from kiosk import messages
    from kiosk.ui.texts import TEXTS

    zh = [v["zh_CN"] for v in messages.every_message().values()] + [z for k, (z, _) in TEXTS.items()
                                                                    if k != "other_language"]
    leaks = [z for z in zh if re.search(r"[A-Za-z]{2,}", re.sub(r"\{[a-z_:0-9]+\}", "", z))]
    assert [] == leaks
    assert not any("扫码" in z for z in zh)
