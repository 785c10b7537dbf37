from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.texts import pick, t


class PinScreen(Screen):
    title = StringProperty("")
    dots = StringProperty("")
    error = StringProperty("")
    cancel_text = StringProperty("")
    ok_text = StringProperty("")
    card_id = StringProperty("")
    pin = StringProperty("")

    def start(self, card_id: str, language: str) -> None:
        self.card_id, self.pin, self.dots, self.error = card_id, "", "", ""
        self.title = t("pin_title", language)
        self.cancel_text, self.ok_text = t("cancel", language), t("ok", language)

    def press(self, digit: str) -> None:
        if len(self.pin) < 12:
            self.pin += digit
            self.dots = "● " * len(self.pin)

    def submit(self) -> None:
        app = App.get_running_app()
        app.client.call("staff.login", self.answered, card_id=self.card_id, pin=self.pin)
        self.pin, self.dots = "", ""

    def answered(self, answer: dict[str, Any]) -> None:
        app = App.get_running_app()
        if answer.get("ok"):
            app.staff_opened(answer["result"])
            return
        self.error = pick(answer.get("error"), app.language)
