from __future__ import annotations

import io
from typing import Any

from kivy.app import App
from kivy.core.image import Image as CoreImage
from kivy.properties import ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.texts import pick, t


class StaffScreen(Screen):
    title = StringProperty("")
    output = StringProperty("")
    slip_texture = ObjectProperty(None, allownone=True)
    label_open = StringProperty("")
    label_close = StringProperty("")
    label_roster = StringProperty("")
    label_figures = StringProperty("")
    label_manual = StringProperty("")
    label_walkin = StringProperty("")
    label_lock = StringProperty("")
    label_course = StringProperty("")
    label_learner = StringProperty("")

    def start(self, staff_id: str, language: str) -> None:
        self.title = t("staff_title", language, staff=staff_id)
        for key in ("open", "close", "roster", "figures", "manual", "walkin", "lock"):
            setattr(self, f"label_{key}", t({"open": "open_session", "close": "close_session"}.get(key, key), language))
        self.label_course, self.label_learner = t("course", language), t("learner_code", language)
        self.output, self.slip_texture = "", None

    # every staff request carries the token; an error shows the agent's sentence
    def _call(self, op: str, done: Any, **args: Any) -> None:
        app = App.get_running_app()

        def answered(answer: dict[str, Any]) -> None:
            if answer.get("ok"):
                done(answer["result"])
            else:
                self.output = pick(answer.get("error"), app.language)
                if answer.get("error", {}).get("code") == "no-staff":
                    app.staff_locked()

        app.client.call(op, answered, token=app.staff_token, **args)

    def current_session(self) -> str | None:
        sessions = (App.get_running_app().state or {}).get("sessions") or []
        return sessions[-1]["session_id"] if sessions else None

    def open_session(self) -> None:
        course = self.ids.course.text.strip() or "智能手机入门"
        self._call("session.open", lambda r: setattr(self, "output", f"《{r['course']}》 √"), course=course,
                   category="elder-education", minutes=90)

    def close_session(self) -> None:
        session_id = self.current_session()
        if session_id:
            self._call("session.close", lambda r: setattr(self, "output", f"√ auto check-out: {r['auto_checkouts']}"),
                       session_id=session_id)

    def show_roster(self) -> None:
        session_id = self.current_session()
        if session_id:
            self._call("roster", lambda r: setattr(self, "output", f"{r['count_present']} / {r['count_total']}: " +
                                                   ", ".join(p["learner_masked"] for p in r["present"])),
                       session_id=session_id)

    def show_figures(self) -> None:
        app = App.get_running_app()

        def done(f: dict[str, Any]) -> None:
            h = (app.state or {}).get("health", {})
            readers = ", ".join(f"{n}: {r['state']}" for n, r in h.get("readers", {}).items())
            self.output = (t("figures_text", app.language, checkins=f["checkins"], checkouts=f["checkouts"],
                             learners=f["learners"], minutes=f["minutes_credited"]) + "\n"
                           + t("health_text", app.language, online=t("online" if h.get("online") else "offline",
                                                                      app.language),
                               pending=h.get("pending"), oldest=h.get("oldest_pending_seconds") or 0,
                               readers=readers, clock=h.get("clock"))
                           + _uplink_problem(h, app.language))

        self._call("figures", done)

    def manual(self) -> None:
        self._call("attendance.manual", lambda r: setattr(self, "output", f"√ {r['learner_masked']}"),
                   learner_code=self.ids.learner_code.text, reason="忘带卡 / no card", minutes=60)

    def walkin(self) -> None:
        app = App.get_running_app()

        def done(r: dict[str, Any]) -> None:
            import qrcode

            self.output = t("walkin_slip", app.language, learner=r["learner"])
            image = qrcode.make(r["qr_text"], box_size=6)
            data = io.BytesIO()
            image.save(data, format="PNG")
            data.seek(0)
            self.slip_texture = CoreImage(data, ext="png").texture

        self._call("walkin.enroll", done)

    def lock(self) -> None:
        App.get_running_app().client.call("staff.logout", token=App.get_running_app().staff_token)
        App.get_running_app().staff_locked()


def _uplink_problem(health: dict[str, Any], language: str) -> str:
    """Why the kiosk cannot reach the county (e.g. a TLS failure because its clock is off)."""
    problem = health.get("uplink_problem")
    if not problem:
        return ""
    return "\n" + problem.get("zh_CN" if language == "zh_CN" else "en", problem.get("en", ""))
