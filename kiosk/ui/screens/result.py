from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.properties import ListProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.messages import duration_text, duration_text_en
from kiosk.ui import theme
from kiosk.ui.screens.face import FaceButton
from kiosk.ui.texts import pick, t
from kiosk.ui.widgets.banner import Banner
from kiosk.ui.widgets.pictures import OutcomeIcon

__all__ = ["Banner", "FaceButton", "OutcomeIcon", "ResultScreen", "result_lines"]  # used by result.kv


def result_lines(result: dict[str, Any], language: str) -> tuple[str, str, str, str]:
    """(headline, greeting, details, advice) of a tap result, as shown and as spoken."""
    message = pick(result.get("message"), language)
    headline, _, rest = message.partition("\n")
    name = result.get("name")
    greeting = t("hello", language, name=name) if name else ""
    lines = [rest] if rest else []
    show = duration_text_en if language == "en" else duration_text
    if "seconds_today" in result and result.get("outcome") != "checkout":  # a check-out says it already
        lines.append(t("time_today", language, duration=show(result["seconds_today"])))
    if "minutes_year" in result:
        lines.append(t("hours_year", language, duration=show(result["minutes_year"] * 60)))
    return headline, greeting, "\n".join(lines), pick(result.get("advice"), language)


class ResultScreen(Screen):
    outcome = StringProperty("")
    message = StringProperty("")
    greeting = StringProperty("")
    details = StringProperty("")
    advice = StringProperty("")
    rate_prompt = StringProperty("")
    rate_words = ListProperty(["", "", "", "", ""])
    done_text = StringProperty("")
    repeat_text = StringProperty("")
    banner = ListProperty(list(theme.BACKGROUND))
    banner_text = ListProperty(list(theme.INK))
    rating_for = StringProperty("")
    remaining = NumericProperty(1.0)  # the draining bar: 1 → 0, then back to idle
    ask = StringProperty("")  # the agent asks "arriving or leaving?" (docs/venue-kiosks.md)
    ask_words = ListProperty(["", ""])

    def show(self, result: dict[str, Any], language: str) -> None:
        outcome = result.get("outcome", "rejected")
        bg, fg, _ = theme.OUTCOMES.get(outcome, theme.OUTCOMES["rejected"])
        self.banner, self.banner_text = list(bg), list(fg)
        self.outcome = outcome if outcome in theme.OUTCOMES else "rejected"
        self.message, self.greeting, self.details, self.advice = result_lines(result, language)
        self.rating_for = result.get("rating_for", "") if outcome == "checkout" else ""
        self.rate_prompt = t("rate", language) if self.rating_for else ""
        self.rate_words = [t(f"rate_{score}", language) for score in range(1, 6)]
        self.done_text = t("done", language)
        self.repeat_text = t("repeat", language)
        self.ask = result.get("ask", "") if outcome == "ask" else ""
        self.ask_words = [t("arriving", language), t("leaving", language)]

    def answer(self, direction: str) -> None:
        """The resident's answer; the agent's tap.result event shows what was recorded."""
        ask, self.ask = self.ask, ""
        if ask:
            App.get_running_app().client.call("tap.answer", ask=ask, direction=direction)

    def rate(self, score: int) -> None:
        app = App.get_running_app()
        if self.rating_for:
            app.client.call("rate", rating_for=self.rating_for, score=score)
            self.rating_for = ""
            self.rate_prompt = ""
            self.details = t("thanks", app.language)
            app.restart_result_timer()
