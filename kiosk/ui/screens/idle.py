from __future__ import annotations

import json
import time
from typing import Any

from kivy.app import App
from kivy.factory import Factory
from kivy.metrics import dp, sp
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.ui import theme
from kiosk.ui.screens.register import describe
from kiosk.ui.texts import t
from kiosk.ui.widgets.pictures import TapPicture

__all__ = ["IdleScreen", "TapPicture"]  # TapPicture: idle.kv

READER_POSITIONS = ("below", "right", "left")
NEXT_COURSES = 3  # the idle screen's next courses that take registrations
ASK_EVERY = 30.0  # seconds between asking the agent for them again (places change with each 报名)


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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.next_courses: list[dict[str, Any]] = []
        self._asked = -ASK_EVERY
        self._language = ""

    def show(self, state: dict[str, Any] | None, language: str) -> None:
        self.instruction = t("tap_here", language)
        self.picture_caption = t(f"where_to_tap_{self.reader_position}", language)
        self.language_button = t("other_language", language)
        self.register_button = t("register", language)
        state = state or {}
        self.venue = state.get("venue_name") or state.get("venue", "")
        open_sessions = state.get("sessions", [])
        self.sessions = (t("sessions_now", language) + "\n" + "\n".join(
            f"《{s['course']}》 {s['present']}{t('present_suffix', language)}" for s in open_sessions)
            if open_sessions else t("no_session", language))
        self._language = language
        self._show_courses()
        if time.monotonic() - self._asked >= ASK_EVERY:
            self._asked = time.monotonic()
            if not App.get_running_app().client.call("register.courses", self._listed):
                self.ask_again()  # not connected yet: ask at the next show

    def ask_again(self) -> None:
        """Places changed (a registration went through): the next show asks the agent again."""
        self._asked = -ASK_EVERY

    def _listed(self, answer: dict[str, Any]) -> None:
        # no programme, or none of its courses takes registrations: the list is absent
        self.next_courses = answer["result"]["courses"][:NEXT_COURSES] if answer.get("ok") else []
        if not answer.get("ok"):  # the agent not there yet: ask at the next show
            self.ask_again()
        self._show_courses()

    def _show_courses(self, *_args: Any) -> None:
        """As many of the next courses as fit with every 报名 a full target (3 on a 1280×800
        panel, 2 on a 1024×600 one); the column's height is the screen's, not the rows'.
        Rebuilt only when what it shows changes: every agent state event shows the idle screen,
        and new rows are new label textures each time (docs/ui.md, Memory)."""
        rows = self.ids.courses
        gap = dp(theme.SPACING) / 2
        fit = max(1, int((rows.height + gap) // (dp(theme.TARGET) + gap)))
        shown = getattr(self, "next_courses", [])[:fit]  # (the kv rule may call before __init__ ends)
        key = json.dumps([shown, getattr(self, "_language", ""), self.register_button], sort_keys=True, default=str)
        if key == getattr(self, "_rows_shown", None):
            return
        self._rows_shown = key
        rows.clear_widgets()
        for c in shown:
            title, when, places = describe(c, self._language)
            row = BoxLayout(spacing=dp(theme.SPACING))
            row.add_widget(Factory.BigLabel(text=f"《{title}》\n{when} · {places}", halign="left", size_hint_y=1,
                                            font_size=sp(theme.SMALL_TEXT)))
            button = Factory.BigButton(text=self.register_button, size_hint_x=None, width=dp(140))
            button.bind(on_release=lambda _b, course=c: App.get_running_app().show_register(course))
            row.add_widget(button)
            rows.add_widget(row)
