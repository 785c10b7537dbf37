from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.texts import t


class IdleScreen(Screen):
    venue = StringProperty("")
    instruction = StringProperty("")
    picture_caption = StringProperty("")
    sessions = StringProperty("")
    health = StringProperty("")
    language_button = StringProperty("")
    register_button = StringProperty("")

    def show(self, state: dict[str, Any] | None, language: str, connected: bool) -> None:
        self.instruction = t("tap_here", language)
        self.picture_caption = t("where_to_tap", language)
        self.language_button = t("other_language", language)
        self.register_button = "Register" if language == "en" else "报名"
        if not connected or state is None:
            self.venue, self.sessions = "", ""
            self.health = t("agent_down", language)
            return
        self.venue = state.get("venue_name") or state.get("venue", "")
        open_sessions = state.get("sessions", [])
        self.sessions = (t("sessions_now", language) + "\n" + "\n".join(
            f"《{s['course']}》 {s['present']}{t('present_suffix', language)}" for s in open_sessions)
            if open_sessions else t("no_session", language))
        h = state.get("health", {})
        self.health = t("online" if h.get("online") else "offline", language)
