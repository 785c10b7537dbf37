from __future__ import annotations

from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.texts import t
from kiosk.ui.widgets.pictures import PausedPicture

__all__ = ["PausedPicture", "PausedScreen"]  # PausedPicture: paused.kv


class PausedScreen(Screen):
    """暂停使用，请找工作人员: the whole screen, while the kiosk cannot take taps."""

    headline = StringProperty("")
    reason = StringProperty("")

    def show(self, causes: list[str], language: str) -> None:
        self.headline = t("paused", language)
        self.reason = "；".join(t(c, language) for c in causes) if language != "en" else "; ".join(
            t(c, language) for c in causes)
