"""The touchscreen application: screens, the socket client, speech. Built by
``learncard kiosk ui`` (the only importer of kiosk.ui)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.ui import theme
from kiosk.ui.client import UiClient
from kiosk.ui.screens.idle import IdleScreen
from kiosk.ui.screens.pin import PinScreen
from kiosk.ui.screens.register import RegisterScreen
from kiosk.ui.screens.result import ResultScreen
from kiosk.ui.screens.staff import StaffScreen
from kiosk.ui.speech import Speaker
from kiosk.ui.texts import pick

log = logging.getLogger(__name__)
SCREENS = Path(__file__).parent / "screens"
for _kv in ("common", "idle", "result", "pin", "staff", "register"):
    Builder.load_file(str(SCREENS / f"{_kv}.kv"))


class KioskUi(App):
    def __init__(self, socket: Path, *, language: str = "zh_CN", font: str = "", speech: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if font:
            theme.FONT_FILE = font
        self.socket = socket
        self.language = language
        self.speaker = Speaker(speech)
        self.state: dict[str, Any] | None = None
        self.connected = False
        self.staff_token = ""
        self.last_result: dict[str, Any] | None = None
        self.results_seen = 0
        self.client = UiClient(socket, self.on_agent_message, lambda fn: Clock.schedule_once(lambda dt: fn(), 0))

    def build(self) -> ScreenManager:
        self.title = "LearnCard"
        manager = ScreenManager(transition=NoTransition())
        for screen in (IdleScreen(), ResultScreen(), PinScreen(), StaffScreen(), RegisterScreen()):
            manager.add_widget(screen)
        return manager

    def on_start(self) -> None:
        self.refresh_idle()
        self.client.start()

    def on_stop(self) -> None:
        self.client.close()

    # --- what the agent says ---------------------------------------------------------------

    def on_agent_message(self, message: dict[str, Any]) -> None:
        event = message.get("event")
        if event in ("hello", "state"):
            self.connected = True
            self.state = message["state"]
            if event == "hello":
                self.language = self.state.get("language", self.language)
            self.refresh_idle()
        elif event == "disconnected":
            self.connected = False
            self.refresh_idle()
        elif event == "tap.result":
            self.on_tap(message["result"])
        elif event == "staff.locked":
            self.staff_locked()

    def on_tap(self, result: dict[str, Any]) -> None:
        self.last_result = result
        self.results_seen += 1
        if result.get("outcome") == "staff-card":
            self.root.get_screen("pin").start(result.get("card_id", ""), self.language)
            self.root.current = "pin"
        elif self.root.current == "register":
            self.root.get_screen("register").show_result(result)
        elif self.root.current != "staff":
            self.root.get_screen("result").show(result, self.language)
            self.root.current = "result"
        self.speaker.say(pick(result.get("message"), self.language), self.language)

    # --- navigation ------------------------------------------------------------------------------

    def refresh_idle(self) -> None:
        self.root.get_screen("idle").show(self.state, self.language, self.connected)

    def show_idle(self) -> None:
        self.refresh_idle()
        self.root.current = "idle"

    def show_register(self) -> None:
        self.root.current = "register"
        self.root.get_screen("register").start()

    def toggle_language(self) -> None:
        self.language = "en" if self.language == "zh_CN" else "zh_CN"
        self.client.call("language", language=self.language)
        self.refresh_idle()
        if self.root.current == "result" and self.last_result is not None:
            self.root.get_screen("result").show(self.last_result, self.language)

    def staff_opened(self, login: dict[str, Any]) -> None:
        self.staff_token = login["token"]
        self.root.get_screen("staff").start(login["staff_id"], self.language)
        self.root.current = "staff"

    def staff_locked(self) -> None:
        self.staff_token = ""
        if self.root.current in ("staff", "pin"):
            self.show_idle()
