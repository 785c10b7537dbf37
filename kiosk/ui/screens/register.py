"""Registration (报名) on the touchscreen: the week's courses that take registrations, with
places left; "报名" or "取消报名" on one, then the card (the agent's ``register.courses`` and
``register.arm``; the card's answer comes back as an ordinary tap result)."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.factory import Factory
from kivy.metrics import dp
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.ui import theme
from kiosk.ui.texts import pick
from kiosk.ui.widgets import consent

WORDS = {
    "title": ("课程报名", "Register for a course"),
    "back": ("返回", "Back"),
    "register": ("报名", "Register"),
    "cancel": ("取消报名", "Cancel"),
    "none": ("本周没有需要报名的课程", "No course takes registrations this week"),
    "places": ("已报 {n}/{cap}", "{n}/{cap} registered"),
    "open": ("已报 {n} 人，不限名额", "{n} registered, no limit"),
    "full": ("已满，可候补", "full: waiting list"),
    "tap_card": ("请刷卡或扫码完成{what}：《{course}》（30 秒内）",
                 "Now tap your card to {what}: {course} (within 30 s)"),
    "to_register": ("报名", "register"),
    "to_cancel": ("取消报名", "cancel"),
    "weekday": ("周一 周二 周三 周四 周五 周六 周日", "Mon Tue Wed Thu Fri Sat Sun"),
}


def w(key: str, language: str, **values: object) -> str:
    zh, en = WORDS[key]
    return (en if language == "en" else zh).format(**values)


def describe(c: dict[str, Any], lang: str) -> tuple[str, str, str]:
    """A listed course's title, its day and time, and its places, in the screen's language
    (the registration screen and the idle screen's next courses say them alike)."""
    from datetime import date

    title = c["title_en"] if lang == "en" and c["title_en"] else c["title_zh"]
    day = w("weekday", lang).split()[date.fromisoformat(c["day"]).weekday()]
    places = (w("open", lang, n=c["registered"]) if c["capacity"] is None
              else w("full", lang) if c["full"] else w("places", lang, n=c["registered"], cap=c["capacity"]))
    return title, f"{day} {c['start']}–{c['end']}", places


class RegisterScreen(Screen):
    title = StringProperty("")
    back_text = StringProperty("")
    prompt = StringProperty("")
    answer = StringProperty("")

    @property
    def language(self) -> str:
        return str(App.get_running_app().language)

    def start(self, course: dict[str, Any] | None = None) -> None:
        """The list; with ``course`` (报名 pressed on the idle screen) that course is armed at once."""
        lang = self.language
        self.title, self.back_text = w("title", lang), w("back", lang)
        self.prompt, self.answer = "", ""
        App.get_running_app().client.call("register.courses", self._listed)
        if course is not None:
            self.arm(course, "register", describe(course, lang)[0])

    def _listed(self, answer: dict[str, Any]) -> None:
        lang = self.language
        rows = self.ids.courses
        rows.clear_widgets()
        if not answer.get("ok"):
            self.answer = pick(answer.get("error"), lang)
            return
        courses = answer["result"]["courses"]
        if not courses:
            self.prompt = w("none", lang)
        for c in courses:
            rows.add_widget(self._row(c, lang))

    def _row(self, c: dict[str, Any], lang: str) -> BoxLayout:
        title, when, places = describe(c, lang)
        row = BoxLayout(spacing=dp(theme.SPACING), size_hint_y=None, height=dp(theme.TARGET) + dp(14))
        label = Factory.BigLabel(text=f"{title}\n{when}  ·  {places}", halign="left",
                                 size_hint_y=1)
        row.add_widget(label)
        for action in ("register", "cancel"):
            button = Factory.BigButton(text=w(action, lang), size_hint_x=None, width=dp(220))
            button.bind(on_release=lambda _b, a=action, course=c, t=title: self.arm(course, a, t))
            row.add_widget(button)
        return row

    def arm(self, course: dict[str, Any], action: str, title: str) -> None:
        lang = self.language

        def armed(answer: dict[str, Any]) -> None:
            if answer.get("ok"):
                self.answer = ""
                self.prompt = w("tap_card", lang, what=w(f"to_{action}", lang), course=title)
            else:
                self.answer = pick(answer.get("error"), lang)

        App.get_running_app().client.call("register.arm", armed, course_id=course["course_id"],
                                          scope=course["scope"], action=action)

    def show_result(self, result: dict[str, Any]) -> None:
        """The card's answer (registered, waiting with the place, cancelled…), then the list again.
        A first registration under the county's notice asks for consent first (no typing)."""
        self.prompt = ""
        self.answer = pick(result.get("message"), self.language)
        if result.get("outcome") == "consent-needed":
            consent.ask(self, result["notice"], self.language, self._consented)
            return
        App.get_running_app().client.call("register.courses", self._listed)

    def _consented(self, answer: dict[str, bool]) -> None:
        def recorded(reply: dict[str, Any]) -> None:
            if reply.get("ok"):
                self.show_result(reply["result"])
            else:  # refused: no consent, or a minor without the guardian — nothing recorded
                self.answer = pick(reply.get("error"), self.language)
                App.get_running_app().client.call("register.courses", self._listed)

        App.get_running_app().client.call("register.consent", recorded, **answer)

    def back(self) -> None:
        if getattr(self, "consent_panel", None) is not None:
            self.consent_panel.close()
        App.get_running_app().client.call("register.disarm", lambda _a: None)
        App.get_running_app().show_idle()
