"""The touchscreen application: screens, the socket client, speech. Built by
``learncard kiosk ui`` (the only importer of kiosk.ui)."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.ui import paused, theme
from kiosk.ui.client import UiClient
from kiosk.ui.screens.corrections import CorrectionsScreen
from kiosk.ui.screens.idle import READER_POSITIONS, IdleScreen
from kiosk.ui.screens.paused import PausedScreen
from kiosk.ui.screens.pin import PinScreen
from kiosk.ui.screens.register import RegisterScreen
from kiosk.ui.screens.result import ResultScreen, result_lines
from kiosk.ui.screens.staff import StaffScreen
from kiosk.ui.speech import RATE, VOLUME, Sink, Speaker
from kiosk.ui.texts import t
from kiosk.ui.widgets import fresh_label, staff_extras
from kiosk.ui.widgets.overlay import ResultOverlay

log = logging.getLogger(__name__)
SCREENS = Path(__file__).parent / "screens"
assert fresh_label.FreshLabel  # registered with Kivy's Factory for the .kv files
for _kv in ("common", "idle", "result", "pin", "staff", "register", "paused", "corrections"):
    Builder.load_file(str(SCREENS / f"{_kv}.kv"))

IDLE_WARNING_SECONDS = 15  # the staff screen warns this long before it locks itself
AUDIO_REPORT_SECONDS = 5


class KioskUi(App):
    def __init__(self, socket: Path, *, language: str = "zh_CN", font: str = "", speech: bool = True,
                 sink: Sink | None = None, result_seconds: float = 10, rating_seconds: float = 60,
                 reader_position: str = "below", audio_file: Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if font:
            theme.FONT_FILE = font
        self.socket = socket
        self.language = language
        self.audio_file = audio_file
        self.speaker = Speaker(speech, sink, **self._audio_settings())
        self.result_seconds, self.rating_seconds = result_seconds, rating_seconds
        self.reader_position = reader_position if reader_position in READER_POSITIONS else "below"
        self.state: dict[str, Any] | None = None
        self.connected = False
        self.staff_token = ""
        self.staff_deadline = 0.0
        self.last_result: dict[str, Any] | None = None
        self.results_seen = 0
        self.paused_causes: list[str] = []
        self.overlay: ResultOverlay | None = None
        self._result_until = 0.0
        self._result_total = 1.0
        self.client = UiClient(socket, self.on_agent_message, lambda fn: Clock.schedule_once(lambda dt: fn(), 0))

    def build(self) -> ScreenManager:
        self.title = "LearnCard"
        manager = ScreenManager(transition=NoTransition())
        for screen in (IdleScreen(), ResultScreen(), PinScreen(), StaffScreen(), RegisterScreen(), PausedScreen(),
                       CorrectionsScreen()):
            manager.add_widget(screen)
        manager.get_screen("idle").reader_position = self.reader_position
        self.staff_extras = staff_extras.install(manager.get_screen("staff"))
        return manager

    def on_start(self) -> None:
        self.refresh()
        self.client.start()
        Clock.schedule_interval(self._tick, 0.1)
        Clock.schedule_interval(lambda dt: self.report_audio(), AUDIO_REPORT_SECONDS)
        Clock.schedule_once(lambda dt: threading.Thread(target=self.speaker.warm, daemon=True).start(), 1)

    def on_stop(self) -> None:
        self.client.close()
        self.speaker.close()

    # --- what the agent says ---------------------------------------------------------------

    def on_agent_message(self, message: dict[str, Any]) -> None:
        event = message.get("event")
        if event in ("hello", "state"):
            self.connected = True
            self.state = message["state"]
            if event == "hello":
                self.language = self.state.get("language", self.language)
                self.report_audio()
            self.refresh()
        elif event == "disconnected":
            self.connected = False
            self.refresh()
        elif event == "tap.result":
            self.on_tap(message["result"])
        elif event == "staff.locked":
            self.staff_locked()

    def on_tap(self, result: dict[str, Any]) -> None:
        self.last_result = result
        self.results_seen += 1
        if result.get("outcome") == "staff-card" and self.root.current != "staff":
            self.root.get_screen("pin").start(result.get("card_id", ""), self.language)
            self.root.current = "pin"
        elif self.root.current == "register":
            self.root.get_screen("register").show_result(result)
        elif self.root.current in ("staff", "pin", "corrections"):
            self.show_overlay(result)
        else:
            self.root.get_screen("result").show(result, self.language)
            self.root.current = "result"
            self.restart_result_timer()
        self.speak_result(result)

    def speak_result(self, result: dict[str, Any]) -> None:
        """The whole answer: headline, greeting, details (time, hours), advice."""
        parts = [line for line in result_lines(result, self.language) if line]
        stop = "。" if self.language != "en" else ". "
        self.speaker.say(stop.join(p.replace("\n", stop) for p in parts), self.language)

    def repeat(self) -> None:
        if self.last_result is not None:
            self.speak_result(self.last_result)
            self.restart_result_timer()

    def show_overlay(self, result: dict[str, Any]) -> None:
        if self.overlay is None:
            self.overlay = ResultOverlay()
            self.overlay.bind(on_dismiss=lambda *_: setattr(self, "overlay", None))
        self.overlay.show(result.get("outcome", "rejected"), result_lines(result, self.language), self.language)
        self._result_until, self._result_total = time.monotonic() + self.result_seconds, self.result_seconds

    # --- the result's time on screen --------------------------------------------------------

    def restart_result_timer(self) -> None:
        """10 s by default; a check-out's rating waits up to 60 s for an answer."""
        rating = bool(self.root.get_screen("result").rating_for)
        total = self.rating_seconds if rating else self.result_seconds
        self._result_until, self._result_total = time.monotonic() + total, total

    def _tick(self, _dt: float) -> None:
        left = self._result_until - time.monotonic()
        if self.root.current == "result":
            # the bar moves once a second: every change of a drawing costs a redraw (docs/ui.md)
            self.root.get_screen("result").remaining = max(0.0, math.ceil(left) / self._result_total)
            if left <= 0:
                self.show_idle()
        if self.overlay is not None and left <= 0:
            self.overlay.dismiss()
        if self.root.current == "staff":
            seconds = int(self.staff_deadline - time.monotonic() + 0.999)
            self.staff_extras.refresh(self.state, self.language,
                                      seconds if 0 < seconds <= IDLE_WARNING_SECONDS else None)

    # --- navigation ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Show the truth: 暂停使用 while anything stops taps, else the tap prompt."""
        causes = paused.causes(self.state, self.connected)
        was = self.paused_causes
        self.paused_causes = causes
        self.root.get_screen("idle").show(self.state, self.language)
        if causes:
            self.root.get_screen("paused").show(causes, self.language)
            if self.root.current != "paused" and (not self.connected or self.root.current in ("idle", "result")):
                self.root.current = "paused"
                self.speaker.say(t("paused_said", self.language), self.language)
        elif was and self.root.current == "paused":
            self.show_idle()

    def refresh_idle(self) -> None:  # the old name, kept for callers on other branches
        self.refresh()

    def show_idle(self) -> None:
        self.root.current = "paused" if self.paused_causes else "idle"
        self.refresh()

    def show_register(self, course: dict[str, Any] | None = None) -> None:
        """报名: the week's list, or (from the idle screen's next courses) one course at once."""
        self.root.current = "register"
        self.root.get_screen("idle").ask_again()
        self.root.get_screen("register").start(course)

    def toggle_language(self) -> None:
        self.language = "en" if self.language == "zh_CN" else "zh_CN"
        self.client.call("language", language=self.language)
        self.refresh()
        if self.root.current == "result" and self.last_result is not None:
            self.root.get_screen("result").show(self.last_result, self.language)

    def staff_opened(self, login: dict[str, Any]) -> None:
        self.staff_token = login["token"]
        self.staff_deadline = time.monotonic() + float(login.get("expires_in", 60))
        self.root.get_screen("staff").start(login["staff_id"], self.language)
        self.root.current = "staff"

    def show_corrections(self) -> None:
        self.root.current = "corrections"
        self.root.get_screen("corrections").start()

    def staff_acted(self, expires_in: float | None = None) -> None:
        """A staff request went through: the agent's idle clock starts again."""
        if self.staff_token:
            self.staff_deadline = time.monotonic() + float(expires_in or (self.state or {}).get(
                "staff", {}).get("expires_in") or 60)

    def staff_keep_alive(self) -> None:
        """The idle-lock warning was touched: one staff request keeps the mode open."""
        self.client.call("figures", lambda answer: self.staff_acted() if answer.get("ok") else None,
                         token=self.staff_token)

    def staff_locked(self) -> None:
        self.staff_token = ""
        if self.root.current in ("staff", "pin", "corrections"):
            self.show_idle()

    # --- sound ------------------------------------------------------------------------------

    def _audio_settings(self) -> dict[str, int]:
        try:
            saved = json.loads(self.audio_file.read_text()) if self.audio_file else {}
        except (OSError, ValueError):
            saved = {}
        return {"rate": clamp(saved.get("rate", RATE[2]), RATE),
                "volume": clamp(saved.get("volume", VOLUME[2]), VOLUME)}

    def change_audio(self, volume: int = 0, rate: int = 0) -> None:
        """Staff mode: louder/quieter, faster/slower; the test tone plays at the new volume."""
        self.speaker.volume = clamp(self.speaker.volume + volume, VOLUME)
        self.speaker.rate = clamp(self.speaker.rate + rate, RATE)
        if self.audio_file is not None:
            try:
                self.audio_file.write_text(json.dumps({"volume": self.speaker.volume, "rate": self.speaker.rate}))
            except OSError as err:
                log.warning("sound settings not saved: %s", err)
        if volume:
            self.speaker.test_tone()
        elif rate:
            self.speaker.say(t("repeat", self.language), self.language)
        self.staff_keep_alive()

    def report_audio(self) -> None:
        """The agent keeps the screen's sound health for `learncard kiosk status`."""
        self.client.call("ui.audio", **self.speaker.health())


def clamp(value: Any, bounds: tuple[int, int, int]) -> int:
    try:
        return max(bounds[0], min(bounds[1], int(value)))
    except (TypeError, ValueError):
        return bounds[2]
