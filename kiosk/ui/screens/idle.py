from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.texts import t
from kiosk.ui.widgets.pictures import TapPicture

__all__ = ["IdleScreen", "TapPicture"]  # TapPicture: idle.kv

READER_POSITIONS = ("below", "right", "left")


class IdleScreen(Screen):
    """What residents see between taps. The network state is not here: it is staff's
    business (the staff screen shows it)."""

    venue = StringProperty("")
    instruction = StringProperty("")
    picture_caption = StringProperty("")
    sessions = StringProperty("")
    language_button = StringProperty("")
    register_button = StringProperty("")
    reader_position = StringProperty("below")

    def show(self, state: dict[str, Any] | None, language: str) -> None:
        self.instruction = t("tap_here", language)
        self.picture_caption = t(f"where_to_tap_{self.reader_position}", language)
        self.language_button = t("other_language", language)
        self.register_button = "Register" if language == "en" else "报名"
        state = state or {}
        self.venue = state.get("venue_name") or state.get("venue", "")
        open_sessions = state.get("sessions", [])
        self.sessions = (t("sessions_now", language) + "\n" + "\n".join(
            f"《{s['course']}》 {s['present']}{t('present_suffix', language)}" for s in open_sessions)
            if open_sessions else t("no_session", language))
