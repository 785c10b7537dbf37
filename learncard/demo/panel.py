"""The demo's panel of sample cards: a small window beside the touchscreen. Pressing a card
"taps" it on the kiosk's simulated reader (the agent's control socket, ``tap``), exactly as
``learncard kiosk tap`` would.

Its own process (Kivy has one window per process), started by ``learncard demo`` when there
is a display:

    python -m learncard.demo.panel CARDS.json AGENT.sock [--autoplay]

CARDS.json: ``{"pin": "…", "cards": [{"label": "…", "text": "LC1:…", "autoplay": true}, …]}``.
With ``--autoplay`` the panel taps every card marked ``autoplay`` in turn, then closes.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

os.environ.setdefault("KIVY_NO_ARGS", "1")

from kivy.config import Config  # noqa: E402 - KIVY_NO_ARGS must be set first

Config.set("graphics", "width", "420")
Config.set("graphics", "height", "800")

from kivy.app import App  # noqa: E402
from kivy.clock import Clock  # noqa: E402
from kivy.core.window import Window  # noqa: E402
from kivy.uix.boxlayout import BoxLayout  # noqa: E402
from kivy.uix.button import Button  # noqa: E402
from kivy.uix.label import Label  # noqa: E402

from kiosk.control import ControlClient, ControlError  # noqa: E402
from kiosk.ui import theme  # noqa: E402

AUTOPLAY_GAP = 3.0  # seconds between taps: long enough to read each result


class Panel(App):
    def __init__(self, cards: list[dict[str, Any]], pin: str, socket: Path, autoplay: bool) -> None:
        super().__init__()
        self.cards, self.pin, self.socket, self.autoplay = cards, pin, socket, autoplay
        self.status: Label | None = None
        self.queue = [c for c in cards if c.get("autoplay")] if autoplay else []

    def label(self, text: str, size: int, **kw: Any) -> Label:
        widget = Label(text=text, font_name=theme.FONT_FILE, font_size=f"{size}sp", color=theme.INK,
                       halign="center", valign="middle", line_height=theme.LINE_HEIGHT, **kw)
        widget.bind(size=lambda w, s: setattr(w, "text_size", s))
        return widget

    def build(self) -> BoxLayout:
        self.title = "LearnCard — 示例卡片 / sample cards"
        Window.clearcolor = theme.BACKGROUND
        root = BoxLayout(orientation="vertical", padding=12, spacing=8)
        root.add_widget(self.label("示例卡片 · Sample cards", 26, size_hint_y=None, height=44))
        root.add_widget(self.label(f"按一张卡 = 在签到机上刷卡\nPress a card to tap it · staff PIN {self.pin}", 18,
                                   size_hint_y=None, height=64))
        for entry in self.cards:
            button = Button(text=entry["label"], font_name=theme.FONT_FILE, font_size="20sp",
                            background_normal="", background_color=theme.BUTTON, color=theme.BUTTON_TEXT,
                            halign="center", valign="middle")
            button.bind(size=lambda w, s: setattr(w, "text_size", s))
            button.bind(on_release=lambda _b, e=entry: self.tap(e))
            root.add_widget(button)
        self.status = self.label("", 18, size_hint_y=None, height=72)
        root.add_widget(self.status)
        return root

    def on_start(self) -> None:
        if self.autoplay:
            Clock.schedule_once(self.play_next, 2.0)

    def play_next(self, _dt: float) -> None:
        if not self.queue:
            self.stop()
            return
        self.tap(self.queue.pop(0))
        Clock.schedule_once(self.play_next, AUTOPLAY_GAP)

    def tap(self, entry: dict[str, Any]) -> None:
        threading.Thread(target=self._tap, args=(entry,), daemon=True).start()

    def _tap(self, entry: dict[str, Any]) -> None:
        try:
            with ControlClient(self.socket, timeout=15) as client:
                result = client.call("tap", text=entry["text"])
            said = f"{entry['label'].splitlines()[0]} → {result.get('outcome', '?')}"
        except (ControlError, OSError) as err:
            said = f"没有送到签到机 / not delivered: {err}"
        print(said, flush=True)
        Clock.schedule_once(lambda _dt: self.show(said), 0)

    def show(self, text: str) -> None:
        if self.status is not None:
            self.status.text = text


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit("usage: python -m learncard.demo.panel CARDS.json AGENT.sock [--autoplay]")
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    Panel(spec["cards"], spec["pin"], Path(argv[1]), "--autoplay" in argv[2:]).run()


if __name__ == "__main__":
    main(sys.argv[1:])
