"""The privacy notice and the consent question (个人信息告知), over the current screen: the
county's short notice in large text, then yes/no with big buttons — "do you agree?", "under
14?" (the county's ``privacy.guardian_age``, sent with the notice), and for a minor "is a
guardian here and agreeing?". No typing. The answer goes to the
agent (``walkin.enroll`` or ``register.consent``), which records the consent or refuses and
says why; this panel only asks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.factory import Factory
from kivy.graphics import Color, Rectangle
from kivy.metrics import dp, sp
from kivy.uix.boxlayout import BoxLayout

from kiosk.ui import theme
from records.consent import DEFAULT_GUARDIAN_AGE

WORDS = {
    "title": ("个人信息告知", "Privacy notice"),
    "agree": ("您同意吗？", "Do you agree?"),
    "age": ("学员未满 {age} 周岁吗？", "Is the learner under {age}?"),
    "guardian": ("监护人在场并同意吗？", "Is a parent or guardian here, and do they agree?"),
    "yes_agree": ("同意", "I agree"),
    "no_agree": ("不同意", "I do not agree"),
    "yes_minor": ("未满 {age} 周岁", "Under {age}"),
    "no_minor": ("已满 {age} 周岁", "{age} or over"),
    "yes_guardian": ("监护人同意", "The guardian agrees"),
    "no_guardian": ("监护人不在或不同意", "No guardian, or they disagree"),
}
STEPS = ("agree", "age", "guardian")


def w(key: str, language: str, age: int = DEFAULT_GUARDIAN_AGE) -> str:
    zh, en = WORDS[key]
    return (en if language == "en" else zh).format(age=age)


class ConsentPanel(BoxLayout):
    """Ask, step by step; ``done`` gets ``{"consent", "minor", "guardian_consent"}`` (a "no"
    ends the questions at once: the agent then refuses and says so)."""

    def __init__(self, notice: dict[str, Any], language: str, done: Callable[[dict[str, bool]], None]) -> None:
        super().__init__(orientation="vertical", padding=dp(16), spacing=dp(theme.SPACING))
        self.language = language
        self.done = done
        self.answer: dict[str, bool] = {}
        self.step = ""
        with self.canvas.before:
            Color(*theme.BACKGROUND)
            self._bg = Rectangle(pos=self.pos, size=self.size)
        self.bind(pos=self._paint, size=self._paint)
        self.title = Factory.BigLabel(text=w("title", language), font_size=sp(theme.BODY_TEXT))  # fits a 7-inch panel
        self.notice = Factory.BigLabel(text=str(notice.get("en" if language == "en" else "zh_CN") or ""),
                                       font_size=sp(theme.BODY_TEXT), halign="left")
        self.version = str(notice.get("version", ""))
        self.age = int(notice.get("guardian_age") or DEFAULT_GUARDIAN_AGE)
        self.question = Factory.BigLabel(text="", font_size=sp(theme.BODY_TEXT * 1.25))
        self.buttons = BoxLayout(spacing=dp(theme.SPACING) * 2, size_hint_y=None, height=dp(theme.TARGET) * 1.2)
        self.yes = Factory.BigButton(text="", font_size=sp(theme.BODY_TEXT * 1.25))
        self.no = Factory.BigButton(text="", font_size=sp(theme.BODY_TEXT * 1.25))
        self.yes.bind(on_release=lambda _b: self.press(True))
        self.no.bind(on_release=lambda _b: self.press(False))
        self.buttons.add_widget(self.yes)
        self.buttons.add_widget(self.no)
        for child in (self.title, self.notice, self.question, self.buttons):
            self.add_widget(child)
        self._ask("agree")

    def _paint(self, *_args: Any) -> None:
        self._bg.pos, self._bg.size = self.pos, self.size

    def _ask(self, step: str) -> None:
        self.step = step
        self.question.text = w(step, self.language, self.age)
        key = {"agree": "agree", "age": "minor", "guardian": "guardian"}[step]
        self.yes.text, self.no.text = w(f"yes_{key}", self.language, self.age), w(f"no_{key}", self.language, self.age)

    def press(self, yes: bool) -> None:
        """A big button: the answer to the question shown now."""
        if self.step == "agree":
            self.answer = {"consent": yes, "minor": False, "guardian_consent": False}
            if yes:
                return self._ask("age")
        elif self.step == "age":
            self.answer["minor"] = yes
            if yes:
                return self._ask("guardian")
        else:
            self.answer["guardian_consent"] = yes
        self.close()
        self.done(dict(self.answer))
        return None

    def texts(self) -> dict[str, str]:
        return {"title": self.title.text, "notice": self.notice.text, "question": self.question.text,
                "yes": self.yes.text, "no": self.no.text}

    def close(self) -> None:
        if self.parent is not None:
            self.parent.remove_widget(self)


def ask(screen: Any, notice: dict[str, Any], language: str, done: Callable[[dict[str, bool]], None]) -> ConsentPanel:
    """Show the panel over ``screen`` (a Screen: a RelativeLayout) until a button ends it."""
    panel = ConsentPanel(notice, language, done)
    screen.add_widget(panel)
    screen.consent_panel = panel
    return panel
