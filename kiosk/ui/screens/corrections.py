"""Staff void an attendance of today on the touchscreen, nothing typed: today's list (the
agent's ``attendance.today``, newest first, voided ones greyed) → 作废 on a row → a reason
from the agent's list → a confirm step that says the original stays → ``attendance.void``
→ the list again, the row voided (docs/corrections.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.app import App
from kivy.factory import Factory
from kivy.metrics import dp
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui import theme
from kiosk.ui.texts import pick

WORDS = {
    "title": ("更正：今天的签到记录", "Correct: today's attendance"),
    "back": ("返回", "Back"),
    "void": ("作废", "Void"),
    "voided": ("已作废", "Voided"),
    "none": ("今天本机还没有签到记录", "No attendance at this kiosk today"),
    "pick_row": ("点「作废」选择要作废的记录", "Touch “Void” on the record to void"),
    "row": ("{time}  {learner}  {kind}{minutes}", "{time}  {learner}  {kind}{minutes}"),
    "minutes": ("  {n} 分钟", "  {n} min"),
    "attendance.checkin": ("签到", "check-in"),
    "attendance.checkout": ("签退", "check-out"),
    "attendance.manual": ("补录", "recorded by staff"),
    "pick_reason": ("作废 {row}\n为什么作废？", "Void {row}\nWhy?"),
    "confirm": ("作废：{row}\n原因：{reason}\n作废后不会删除，原记录保留，并记下您的工号",
                "Void: {row}\nReason: {reason}\nNothing is deleted: the original stays, with your staff id"),
    "confirm_yes": ("确定作废", "Void it"),
    "cancel": ("取消", "Cancel"),
    "done": ("已作废：{row}（{n} 条记录）", "Voided: {row} ({n} records)"),
    "not-voidable": ("只能作废本机今天的记录；更早的请县信息中心更正",
                     "Only today's records of this kiosk can be voided here; county IT corrects older ones"),
    "already-void": ("这条记录已经作废", "This record is void already"),
}


def w(key: str, language: str, **values: object) -> str:
    zh, en = WORDS[key]
    return (en if language == "en" else zh).format(**values)


def row_text(row: dict[str, Any], language: str) -> str:
    minutes = w("minutes", language, n=row["minutes"]) if row.get("minutes") else ""
    kind = w(row["type"], language) if row["type"] in WORDS else row["type"]
    return w("row", language, time=row["time"], learner=row["learner_masked"], kind=kind, minutes=minutes)


class CorrectionsScreen(Screen):
    title = StringProperty("")
    prompt = StringProperty("")
    output = StringProperty("")
    label_back = StringProperty("")
    refused = BooleanProperty(False)  # the output is the agent's refusal (in ERROR_INK)

    @property
    def language(self) -> str:
        return str(App.get_running_app().language)

    def start(self) -> None:
        self.title, self.label_back = w("title", self.language), w("back", self.language)
        self.output = ""
        self.load()

    def back(self) -> None:
        App.get_running_app().root.current = "staff"

    def _call(self, op: str, done: Callable[[dict[str, Any]], None], **args: Any) -> None:
        app = App.get_running_app()

        def answered(answer: dict[str, Any]) -> None:
            if answer.get("ok"):
                app.staff_acted()
                done(answer["result"])
                return
            error = answer.get("error") or {}
            code = error.get("code", "")
            self.refused = True
            self.output = w(code, self.language) if code in ("not-voidable", "already-void") else pick(
                error, self.language)
            if code == "no-staff":
                app.staff_locked()
            else:
                self.load(keep_output=True)

        app.client.call(op, answered, token=app.staff_token, **args)

    def load(self, keep_output: bool = False) -> None:
        if not keep_output:
            self.output, self.refused = "", False
        self._call("attendance.today", self.show_list)

    # --- the three steps: list, reason, confirm ----------------------------------------------------

    def show_list(self, today: dict[str, Any]) -> None:
        lang = self.language
        rows = self._clear(2)
        self.prompt = w("pick_row" if today["attendances"] else "none", lang)
        for row in today["attendances"]:
            text = row_text(row, lang)
            label = Factory.BigLabel(text=text, halign="left", size_hint_y=None,
                                     color=theme.HINT_TEXT if row["voided"] else theme.INK)
            button = Factory.BigButton(text=w("voided" if row["voided"] else "void", lang), size_hint=(None, None),
                                       width=dp(theme.TARGET) * 2, height=dp(theme.TARGET), disabled=row["voided"],
                                       disabled_color=theme.DISABLED_TEXT, background_disabled_normal="",
                                       background_color=theme.DISABLED_BUTTON if row["voided"] else theme.BUTTON)
            button.record_id = row["record_id"]
            if not row["voided"]:
                button.bind(on_release=lambda _b, r=row, rs=today["reasons"]: self.ask_reason(r, rs))
            rows.add_widget(label)
            rows.add_widget(button)

    def ask_reason(self, row: dict[str, Any], reasons: list[dict[str, str]]) -> None:
        lang = self.language
        self.prompt = w("pick_reason", lang, row=row_text(row, lang))
        key = "en" if lang == "en" else "zh_CN"
        self._buttons([(r[key], lambda r=r: self.confirm(row, r)) for r in reasons]
                      + [(w("cancel", lang), self.load)])

    def confirm(self, row: dict[str, Any], reason: dict[str, str]) -> None:
        lang = self.language
        self.prompt = w("confirm", lang, row=row_text(row, lang), reason=reason["en" if lang == "en" else "zh_CN"])
        self._buttons([(w("confirm_yes", lang), lambda: self.void(row, reason["id"])),
                       (w("cancel", lang), self.load)])

    def void(self, row: dict[str, Any], reason: str) -> None:
        def done(result: dict[str, Any]) -> None:
            self.load()
            self.output = w("done", self.language, row=row_text(row, self.language), n=len(result["voided"]))

        self._call("attendance.void", done, record_id=row["record_id"], reason=reason)

    # --- layout helpers ----------------------------------------------------------------------------

    def _clear(self, cols: int) -> Any:
        rows = self.ids.rows
        rows.clear_widgets()
        rows.cols = cols
        self.ids.scroll.scroll_y = 1  # the newest first, in sight
        return rows

    def _buttons(self, options: list[tuple[str, Callable[[], None]]]) -> None:
        rows = self._clear(2)
        for label, chosen in options:
            button = Factory.BigButton(text=label, size_hint_y=None, height=dp(theme.TARGET))
            button.bind(on_release=lambda _b, fn=chosen: fn())
            rows.add_widget(button)
