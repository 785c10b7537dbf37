"""A tap's result over the staff screen: a resident tapping while staff work still gets a
visual answer. It closes by itself after the result time, or on a touch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.properties import ListProperty, StringProperty
from kivy.uix.modalview import ModalView

from kiosk.ui import theme
from kiosk.ui.texts import t


class ResultOverlay(ModalView):
    outcome = StringProperty("")
    headline = StringProperty("")
    body = StringProperty("")
    done_text = StringProperty("")
    banner = ListProperty(list(theme.BACKGROUND))
    banner_text = ListProperty(list(theme.INK))

    def show(self, outcome: str, lines: tuple[str, str, str, str], language: str) -> None:
        bg, fg, _ = theme.OUTCOMES.get(outcome, theme.OUTCOMES["rejected"])
        self.outcome, self.banner, self.banner_text = outcome, list(bg), list(fg)
        self.headline = lines[0]
        self.body = "\n".join(line for line in lines[1:] if line)
        self.done_text = t("done", language)
        if self._window is None:
            self.open(animation=False)


_KV = str(Path(__file__).with_suffix(".kv"))
if _KV not in Builder.files:
    Builder.load_file(_KV)

__all__: list[Any] = ["ResultOverlay"]
