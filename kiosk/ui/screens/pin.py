from __future__ import annotations

import time
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.texts import pick, t
from kiosk.ui.widgets.numpad import NumPad

__all__ = ["NumPad", "PinScreen"]  # NumPad: pin.kv


class PinScreen(Screen):
    """The staff PIN on the fixed keypad; a lock-out counts down with the keys disabled."""

    title = StringProperty("")
    error = StringProperty("")
    cancel_text = StringProperty("")
    card_id = StringProperty("")
    language = StringProperty("zh_CN")
    locked = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._locked_until = 0.0
        self._ticker: Any = None

    def start(self, card_id: str, language: str) -> None:
        self.card_id, self.error, self.language = card_id, "", language
        self.title = t("pin_title", language)
        self.cancel_text = t("cancel", language)
        self.ids.pad.clear()
        if self._locked_until <= time.monotonic():
            self.locked = False

    def submit(self, pin: str) -> None:
        App.get_running_app().client.call("staff.login", self.answered, card_id=self.card_id, pin=pin)
        self.ids.pad.clear()

    def answered(self, answer: dict[str, Any]) -> None:
        app = App.get_running_app()
        if answer.get("ok"):
            app.staff_opened(answer["result"])
            return
        error = answer.get("error") or {}
        self.error = pick(error, app.language)
        if error.get("code") == "locked-out" and error.get("retry_after"):
            self.lock_for(int(error["retry_after"]))

    def lock_for(self, seconds: int) -> None:
        self._locked_until = time.monotonic() + seconds
        self.locked = True
        if self._ticker is None:
            self._ticker = Clock.schedule_interval(self._tick, 0.5)
        self._tick(0)

    def _tick(self, _dt: float) -> None:
        left = int(self._locked_until - time.monotonic() + 0.999)
        if left <= 0:
            self.locked, self.error = False, ""
            if self._ticker is not None:
                self._ticker.cancel()
                self._ticker = None
            return
        self.error = t("locked_out", self.language, minutes=left // 60, seconds=left % 60)
