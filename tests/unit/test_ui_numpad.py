"""The on-screen keypad: fixed keys, 退格, the Luhn check before anything is sent, lock-out."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
pytest.importorskip("kivy")

from kiosk.ui.widgets.numpad import KEYS, NumPad, check_learner_code  # noqa: E402
from records.ids import learner_code  # noqa: E402

GOOD = learner_code(987_654_321_098)


def typed(pad: NumPad, keys: str) -> list[str]:
    entered: list[str] = []
    pad.bind(on_enter=lambda _pad, text: entered.append(text))
    for key in keys:
        pad.press({"<": "back", "!": "ok"}.get(key, key))
    return entered


def test_a_good_learner_code_is_entered() -> None:
    pad = NumPad(learner_code=True)
    assert [GOOD] == typed(pad, GOOD + "!")
    assert "" == pad.error
    assert pad.shown == " ".join([GOOD[:4], GOOD[4:8], GOOD[8:12], GOOD[12:]])


def test_a_wrong_check_digit_says_so_and_sends_nothing() -> None:
    wrong = GOOD[:-1] + str((int(GOOD[-1]) + 1) % 10)
    pad = NumPad(learner_code=True)
    assert [] == typed(pad, wrong + "!")
    assert "号码有误" in pad.error
    pad.language = "en"
    assert [] == typed(pad, "!")
    assert "Wrong number" in pad.error


def test_a_short_code_says_how_many_digits_are_missing() -> None:
    pad = NumPad(learner_code=True)
    assert [] == typed(pad, "1234!")
    assert "还差 9 位" in pad.error


def test_backspace_removes_the_last_digit_and_the_error() -> None:
    pad = NumPad(learner_code=True)
    typed(pad, "12!")
    assert pad.error
    typed(pad, "<")
    assert ("1", "") == (pad.text, pad.error)
    assert [GOOD] == typed(pad, "<" + GOOD + "!")


def test_no_more_digits_than_the_maximum() -> None:
    pad = NumPad(max_length=4)
    typed(pad, "123456")
    assert "1234" == pad.text


def test_secret_entry_shows_dots_only() -> None:
    pad = NumPad(secret=True, max_length=12)
    assert ["2468"] == typed(pad, "2468!")
    assert "2" not in pad.shown and 4 == pad.shown.count("●")


def test_locked_keys_are_disabled_and_ignore_presses() -> None:
    pad = NumPad(secret=True, locked=True)
    assert [] == typed(pad, "12!")
    assert "" == pad.text
    keys = pad.ids["keys"].children
    assert 12 == len(keys) and all(k.disabled for k in keys)
    pad.locked = False
    assert not any(k.disabled for k in keys)


def test_keys_are_in_fixed_places_and_do_not_move_when_typing() -> None:
    pad = NumPad(learner_code=True)
    grid = pad.ids["keys"]
    assert [k.key for k in reversed(grid.children)] == list(KEYS)
    pad.do_layout()
    grid.do_layout()
    before = [(tuple(k.pos), tuple(k.size)) for k in grid.children]
    typed(pad, "12345!")
    pad.do_layout()
    grid.do_layout()
    assert before == [(tuple(k.pos), tuple(k.size)) for k in grid.children]


@pytest.mark.parametrize("text", ["", "1", GOOD[:-1], "abc"])
def test_check_learner_code_refuses_incomplete_codes(text: str) -> None:
    assert check_learner_code(text, "zh_CN")
