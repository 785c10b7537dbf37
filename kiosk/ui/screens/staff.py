"""Staff mode on the touchscreen. Nothing is typed: a session is picked from today's
programme or started from the venue's courses; a manual attendance picks the resident from
the course's registered list or the numeric keypad, then a reason and minutes from what the
county's rules offer (the agent's ``programme.today`` and ``manual.choices``)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from kivy.app import App
from kivy.core.image import Image as CoreImage
from kivy.factory import Factory
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.screenmanager import Screen

from kiosk.ui.texts import pick, t
from kiosk.ui.widgets import consent
from kiosk.ui.widgets.numpad import NumPad

# this screen's own words (the shared ones are in kiosk/ui/texts.py)
WORDS = {
    "pick_session": ("请选择今天的课程，或临时开一节课", "Pick today's session, or start one now"),
    "ad_hoc": ("临时：{title}", "Now: {title}"),
    "pick_minutes": ("这节课上多长时间？", "How long is this session?"),
    "minutes": ("{n} 分钟", "{n} min"),
    "no_programme": ("课程表里没有本场所的课程，请联系县里",
                     "The programme has no course here: please call the county"),
    "opened": ("已开课：《{course}》，到 {end}", "Opened: {course}, until {end}"),
    "closed": ("已下课，自动签退 {n} 人", "Closed: {n} checked out automatically"),
    "pick_learner": ("为谁补录？选择已报名的学员，或输入学习码",
                     "For whom? Pick a registered resident, or enter the code"),
    "keypad": ("输入学习码", "Enter the code"),
    "pick_reason": ("补录原因", "Why?"),
    "pick_credit": ("认定多少分钟？", "How many minutes?"),
    "recorded": ("已补录：{learner}，{minutes} 分钟", "Recorded: {learner}, {minutes} min"),
    "roster": ("在场 {present} 人 / 签到 {total} 人次 / 已报名 {registered} 人",
               "{present} present / {total} check-ins / {registered} registered"),
    "no_open": ("现在没有开放的课程", "No session is open"),
    "pick_open": ("哪一节课？", "Which session?"),
    "here": ("已到", "here"),
    "away": ("未到", "not here"),
}


def w(key: str, language: str, **values: object) -> str:
    zh, en = WORDS[key]
    return (en if language == "en" else zh).format(**values)


class StaffScreen(Screen):
    title = StringProperty("")
    output = StringProperty("")
    prompt = StringProperty("")
    slip_texture = ObjectProperty(None, allownone=True)
    actions_shown = BooleanProperty(True)  # the action buttons make room while the keypad is up
    label_open = StringProperty("")
    label_close = StringProperty("")
    label_roster = StringProperty("")
    label_figures = StringProperty("")
    label_manual = StringProperty("")
    label_walkin = StringProperty("")
    label_lock = StringProperty("")
    label_correct = StringProperty("")

    def start(self, staff_id: str, language: str) -> None:
        self.title = t("staff_title", language, staff=staff_id)
        for key in ("open", "close", "roster", "figures", "manual", "walkin", "lock", "correct"):
            setattr(self, f"label_{key}", t({"open": "open_session", "close": "close_session"}.get(key, key), language))
        self.output, self.slip_texture = "", None
        self.clear_choices()

    @property
    def language(self) -> str:
        return str(App.get_running_app().language)

    # every staff request carries the token; an error shows the agent's sentence
    def _call(self, op: str, done: Any, **args: Any) -> None:
        app = App.get_running_app()

        def answered(answer: dict[str, Any]) -> None:
            if answer.get("ok"):
                app.staff_acted()
                done(answer["result"])
            else:
                self.output = pick(answer.get("error"), app.language)
                if answer.get("error", {}).get("code") == "no-staff":
                    app.staff_locked()

        app.client.call(op, answered, token=app.staff_token, **args)

    # --- the choice panel: big buttons made from what the agent offers ------------------------

    def clear_choices(self) -> None:
        self.prompt = ""
        self.actions_shown = True
        self.slip_texture = None  # a walk-in's slip stays only until the next action
        if "choices" in self.ids:
            self.ids.choices.clear_widgets()

    def offer(self, prompt: str, options: list[tuple[str, Callable[[], None]]]) -> None:
        self.clear_choices()
        self.prompt = prompt
        self.ids.choices.cols = 3
        for label, chosen in options:
            button = Factory.BigButton(text=label)
            button.bind(on_release=lambda _b, fn=chosen: fn())
            self.ids.choices.add_widget(button)

    def open_sessions(self) -> list[dict[str, Any]]:
        return [s for s in (App.get_running_app().state or {}).get("sessions") or [] if not s.get("closed")]

    def for_session(self, then: Callable[[str], None]) -> None:
        """Run ``then`` for the open session — asking which one when several are open."""
        sessions = self.open_sessions()
        if not sessions:
            self.output = w("no_open", self.language)
        elif len(sessions) == 1:
            then(sessions[0]["session_id"])
        else:
            self.offer(w("pick_open", self.language), [
                (f"{s['course']}  {s['planned_start'][11:16]}–{s['planned_end'][11:16]}",
                 lambda sid=s["session_id"]: then(sid)) for s in sessions])

    # --- sessions ------------------------------------------------------------------------------

    def open_session(self) -> None:
        lang = self.language

        def listed(today: dict[str, Any]) -> None:
            options: list[tuple[str, Callable[[], None]]] = []
            for p in today["planned"]:
                if not p["opened"]:
                    title = p["title_en"] if lang == "en" and p["title_en"] else p["title_zh"]
                    options.append((f"{title}  {p['start']}–{p['end']}",
                                    lambda occ=p["occurrence"]: self._open(occurrence=occ)))
            for c in today["courses"]:
                title = c["title_en"] if lang == "en" and c["title_en"] else c["title_zh"]
                options.append((w("ad_hoc", lang, title=title),
                                lambda cid=c["course_id"], m=today["ad_hoc_minutes"]: self._pick_minutes(cid, m)))
            if options:
                self.offer(w("pick_session", lang), options)
            else:
                self.clear_choices()
                self.output = w("no_programme", lang)

        self._call("programme.today", listed)

    def _pick_minutes(self, course_id: str, choices: list[int]) -> None:
        self.offer(w("pick_minutes", self.language), [(w("minutes", self.language, n=m),
                                                        lambda m=m: self._open(course_id=course_id, minutes=m))
                                                       for m in choices])

    def _open(self, **args: Any) -> None:
        def done(r: dict[str, Any]) -> None:
            self.clear_choices()
            title = r.get("title_en") if self.language == "en" and r.get("title_en") else r["course"]
            self.output = w("opened", self.language, course=title, end=r["planned_end"][11:16])

        self._call("session.open", done, **args)

    def close_session(self) -> None:
        def close(session_id: str) -> None:
            def done(r: dict[str, Any]) -> None:
                self.clear_choices()
                self.output = w("closed", self.language, n=r["auto_checkouts"])

            self._call("session.close", done, session_id=session_id)

        self.for_session(close)

    def show_roster(self) -> None:
        self.for_session(self._roster)

    def _roster(self, session_id: str) -> None:
        def done(r: dict[str, Any]) -> None:
            self.clear_choices()
            lines = [w("roster", self.language, present=r["count_present"], total=r["count_total"],
                       registered=r["count_registered"])]
            lines.append(", ".join(p["learner_masked"][-4:] + " " + p["since"] for p in r["present"]))
            lines.append(", ".join(f"{g['learner_masked'][-4:]} {w('here' if g['present'] else 'away', self.language)}"
                                   for g in r["registered"] if g["status"] == "registered"))
            self.output = "\n".join(line for line in lines if line)

        self._call("roster", done, session_id=session_id)

    def show_figures(self) -> None:
        app = App.get_running_app()

        def done(f: dict[str, Any]) -> None:
            from kiosk.ui.widgets.staff_extras import health_text

            self.clear_choices()
            self.output = (t("figures_text", app.language, checkins=f["checkins"], checkouts=f["checkouts"],
                             learners=f["learners"], minutes=f["minutes_credited"]) + "\n"
                           + health_text(app.state, app.speaker.health(), app.language))

        self._call("figures", done)

    # --- a resident without a card ----------------------------------------------------------------

    def manual(self) -> None:
        lang = self.language

        def offered(choices: dict[str, Any]) -> None:
            people: list[tuple[str, Callable[[], None]]] = [
                (r["learner_masked"][-6:], lambda code=r["learner_code"]: self._pick_reason(code, choices))
                for r in choices["registered"]]
            people.append((w("keypad", lang), lambda: self._keypad(choices)))
            self.offer(w("pick_learner", lang), people)

        if self.open_sessions():  # for which session (asked when several are open)
            self.for_session(lambda sid: self._call("manual.choices", offered, session_id=sid))
        else:  # no session open: self-study
            self._call("manual.choices", offered)

    def _keypad(self, choices: dict[str, Any]) -> None:
        self.clear_choices()
        self.actions_shown = False
        self.output, self.slip_texture = "", None
        self.ids.choices.cols = 1
        pad = NumPad(learner_code=True, language=self.language, hint=t("learner_code", self.language))
        pad.bind(on_enter=lambda _pad, code: self._pick_reason(code, choices))
        holder = AnchorLayout(size_hint_y=None, height=pad.height)
        pad.bind(height=holder.setter("height"))
        holder.add_widget(pad)
        self.ids.choices.add_widget(holder)

    def _pick_reason(self, code: str, choices: dict[str, Any]) -> None:
        key = "en" if self.language == "en" else "zh"
        self.offer(w("pick_reason", self.language), [
            (r[key], lambda rid=r["id"]: self._pick_credit(code, rid, choices)) for r in choices["reasons"]])

    def _pick_credit(self, code: str, reason: str, choices: dict[str, Any]) -> None:
        self.offer(w("pick_credit", self.language), [
            (w("minutes", self.language, n=m), lambda m=m: self._record(code, reason, m, choices["session_id"]))
            for m in choices["minutes"]])

    def _record(self, code: str, reason: str, minutes: int, session_id: str | None = None) -> None:
        def done(r: dict[str, Any]) -> None:
            self.clear_choices()
            self.output = w("recorded", self.language, learner=r["learner_masked"], minutes=minutes)

        self._call("attendance.manual", done, learner_code=code, reason=reason, minutes=minutes,
                   **({"session_id": session_id} if session_id else {}))

    def walkin(self) -> None:
        app = App.get_running_app()

        def done(r: dict[str, Any]) -> None:
            import qrcode

            self.clear_choices()
            self.output = t("walkin_slip", app.language, learner=r["learner"])
            image = qrcode.make(r["qr_text"], box_size=6)
            data = io.BytesIO()
            image.save(data, format="PNG")
            data.seek(0)
            self.slip_texture = CoreImage(data, ext="png").texture

        def asked(answer: dict[str, bool]) -> None:
            self._call("walkin.enroll", done, **answer)

        # the resident reads the county's notice and answers on the screen, then the enrolment
        self._call("privacy.notice", lambda r: consent.ask(self, r["notice"], app.language, asked))

    def lock(self) -> None:
        App.get_running_app().client.call("staff.logout", token=App.get_running_app().staff_token)
        App.get_running_app().staff_locked()

