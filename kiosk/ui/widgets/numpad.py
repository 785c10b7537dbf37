"""A large on-screen numeric keypad: nothing on a touch-only kiosk needs a keyboard.

Twelve keys in fixed places (1–9, 退格 / Back, 0, 确定 / OK), all the same size whatever is
typed: the display and the error line have fixed heights above them, so no key moves after
the first digit. ``secret`` shows dots (the PIN); ``learner_code`` checks a 13-digit learner
code's Luhn digit (``records.ids``) and says 号码有误 before anything is sent. ``locked``
disables every key (a PIN lock-out). A finished entry fires ``on_enter(text)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.modalview import ModalView

from records.errors import RecordError
from records.ids import LEARNER_CODE_DIGITS, parse_learner_code

WORDS = {
    "learner_code": ("请输入学员卡上的13位学习码", "Enter the 13-digit learner code from the card"),
    "cancel": ("取消", "Cancel"),
    "back": ("退格", "Back"),
    "ok": ("确定", "OK"),
    "bad_code": ("号码有误\n请核对卡上的13位号码", "Wrong number:\ncheck the 13 digits on the card"),
    "short_code": ("请输入13位学习码\n还差 {n} 位", "Enter the 13-digit learner code:\n{n} more"),
}
# the keys, row by row, top first (telephone order, as on a bank's PIN pad)
KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "back", "0", "ok")


def word(key: str, language: str, **values: object) -> str:
    zh, en = WORDS[key]
    return (en if language == "en" else zh).format(**values)


def check_learner_code(text: str, language: str) -> str:
    """Empty if ``text`` is a well-formed learner code, else the sentence to show."""
    if len(text) < LEARNER_CODE_DIGITS:
        return word("short_code", language, n=LEARNER_CODE_DIGITS - len(text))
    try:
        parse_learner_code(text)
    except RecordError:
        return word("bad_code", language)
    return ""


class NumPad(BoxLayout):
    text = StringProperty("")
    shown = StringProperty("")  # what the display says: the digits, grouped, or dots
    hint = StringProperty("")  # shown while nothing is typed
    error = StringProperty("")
    language = StringProperty("zh_CN")
    back_text = StringProperty("退格")
    ok_text = StringProperty("确定")
    max_length = NumericProperty(13)
    secret = BooleanProperty(False)
    learner_code = BooleanProperty(False)
    locked = BooleanProperty(False)
    side_by_side = BooleanProperty(False)

    __events__ = ("on_enter",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(text=self._show, secret=self._show, language=self._words)
        self._words()

    def _words(self, *_: Any) -> None:
        self.back_text, self.ok_text = word("back", self.language), word("ok", self.language)

    def _show(self, *_: Any) -> None:
        if self.secret:
            self.shown = "● " * len(self.text)
        else:  # groups of four, as printed on the card
            self.shown = " ".join(self.text[i:i + 4] for i in range(0, len(self.text), 4))

    def press(self, key: str) -> None:
        if self.locked:
            return
        if key == "back":
            self.text = self.text[:-1]
            self.error = ""
        elif key == "ok":
            self.submit()
        elif key.isdigit() and len(self.text) < self.max_length:
            self.text += key
            self.error = ""

    def submit(self) -> None:
        if self.locked or not self.text:
            return
        if self.learner_code:
            self.error = check_learner_code(self.text, self.language)
            if self.error:
                return
        entered = self.text
        self.dispatch("on_enter", entered)

    def clear(self) -> None:
        self.text, self.error = "", ""

    def on_enter(self, text: str) -> None:
        """Default handler (Kivy needs one); bind ``on_enter`` to use the entry."""


class NumPadPopup(ModalView):
    """The keypad over the current screen, for one entry: ``NumPadPopup(on_done).open()``.
    ``on_done(text)`` runs only with a finished (and, for learner codes, checked) entry."""

    title = StringProperty("")
    cancel_text = StringProperty("")
    language = StringProperty("zh_CN")
    learner_code = BooleanProperty(True)

    def __init__(self, on_done: Any, language: str = "zh_CN", title: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_done, self.language = on_done, language
        self.title = title or word("learner_code", language)
        self.cancel_text = word("cancel", language)

    def entered(self, text: str) -> None:
        self.dismiss()
        self.on_done(text)


_KV = str(Path(__file__).with_suffix(".kv"))
if _KV not in Builder.files:
    Builder.load_file(_KV)
