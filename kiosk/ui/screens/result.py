from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.properties import ListProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui import theme
from kiosk.ui.screens.face import FaceButton
from kiosk.ui.texts import pick, t

__all__ = ["FaceButton", "ResultScreen"]  # FaceButton: used by result.kv


class ResultScreen(Screen):
    icon = StringProperty("")
    message = StringProperty("")
    greeting = StringProperty("")
    details = StringProperty("")
    advice = StringProperty("")
    rate_prompt = StringProperty("")
    rate_words = ListProperty(["", "", "", "", ""])
    done_text = StringProperty("")
    banner = ListProperty(list(theme.BACKGROUND))
    banner_text = ListProperty(list(theme.INK))
    rating_for = StringProperty("")

    def show(self, result: dict[str, Any], language: str) -> None:
        outcome = result.get("outcome", "rejected")
        bg, fg, icon = theme.OUTCOMES.get(outcome, theme.OUTCOMES["rejected"])
        self.banner, self.banner_text, self.icon = list(bg), list(fg), icon
        self.message = pick(result.get("message"), language)
        name = result.get("name")
        self.greeting = t("hello", language, name=name) if name else ""
        lines = []
        session = result.get("session")
        if session and session.get("course"):
            lines.append(f"《{session['course']}》")
        if "seconds_today" in result:
            lines.append(t("time_today", language, minutes=result["seconds_today"] // 60))
        if "minutes_year" in result:
            lines.append(t("hours_year", language, hours=round(result["minutes_year"] / 60, 1)))
        self.details = "\n".join(lines)
        self.advice = pick(result.get("advice"), language)
        self.rating_for = result.get("rating_for", "") if outcome == "checkout" else ""
        self.rate_prompt = t("rate", language) if self.rating_for else ""
        self.rate_words = [t(f"rate_{score}", language) for score in range(1, 6)]
        self.done_text = t("done", language)

    def rate(self, score: int) -> None:
        app = App.get_running_app()
        if self.rating_for:
            app.client.call("rate", rating_for=self.rating_for, score=score)
            self.rating_for = ""
            self.rate_prompt = ""
            self.details = t("thanks", app.language)
