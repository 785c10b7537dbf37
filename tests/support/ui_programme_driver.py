"""Drives the touchscreen's programme screens against a real agent, offscreen: registration
(报名) from the idle screen, staff picking a session from the programme, manual attendance
from choices and the keypad. Writes what each screen said (and, if asked, screenshots).

Run as its own process (Kivy's window is global):
    SDL_VIDEODRIVER=offscreen KIVY_NO_ARGS=1 KIVY_HOME=<tmp> \\
        python -m tests.support.ui_programme_driver OUT.json LANG [SHOTS]
"""

from __future__ import annotations

import json
import os  # noqa: E402
import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

from kivy.config import Config

PANEL = os.environ.get("LC_PANEL", "1280x800").split("x")  # 1024x600 for the small panel's screenshots
Config.set("graphics", "width", PANEL[0])
Config.set("graphics", "height", PANEL[1])

from kivy.metrics import Metrics  # noqa: E402

from kiosk.reader.base import CardRead  # noqa: E402
from kiosk.ui.app import KioskUi  # noqa: E402
from kiosk.ui.widgets.numpad import NumPad  # noqa: E402
from records import programme  # noqa: E402
from records.ids import learner_code  # noqa: E402
from tests.support.county import TestCounty  # noqa: E402
from tests.support.kiosk import STAFF_PIN  # noqa: E402
from tests.support.ui_run import driver_start, staff_cards_on_roster, step_through  # noqa: E402

BASE = {"venue": "v-test", "title_en": "", "staff_id": "", "capacity": "", "registration": "none",
        "credit_rule": "standard", "date": "", "weekday": "1", "term_start": "2026-11-01", "term_end": "2026-12-31"}
ROWS = [
    {**BASE, "course_id": "phone-basics", "title_zh": "智能手机入门", "title_en": "Smartphone basics",
     "category": "science-tech", "form": "workshop", "audience": "elderly", "capacity": "2", "registration": "term",
     "start": "09:00", "end": "10:30"},
    {**BASE, "course_id": "tai-chi", "title_zh": "太极拳", "title_en": "Tai chi", "category": "sports-fitness",
     "form": "practice", "audience": "all", "start": "15:00", "end": "16:00"},
    {**BASE, "course_id": "calligraphy", "title_zh": "书法", "title_en": "Calligraphy", "category": "humanities-arts",
     "form": "practice", "audience": "all", "capacity": "12", "registration": "session", "weekday": "3",
     "start": "09:30", "end": "11:00"},
]


def texts(screen: Any) -> dict[str, str]:
    return {name: w.text for name, w in screen.ids.items() if hasattr(w, "text") and isinstance(w.text, str)}


def buttons(screen: Any) -> list[str]:
    return [b.text for b in reversed(screen.ids.choices.children) if hasattr(b, "text")]


def press(screen: Any, contains: str) -> None:
    for b in reversed(screen.ids.choices.children):
        if contains in getattr(b, "text", ""):
            b.dispatch("on_release")
            return
    raise AssertionError(f"no button with {contains!r} among {buttons(screen)}")


def scenario(app: KioskUi, county: TestCounty, agent: Any, seen: dict[str, Any], shots: Path | None,
             language: str) -> Generator[float, None, None]:
    def look(name: str) -> None:
        screen = app.root.current_screen
        seen[name] = {"screen": screen.name, **texts(screen)}
        if "choices" in screen.ids:
            seen[name]["buttons"] = buttons(screen)
        if shots is not None:
            app.root.export_to_png(str(shots / f"{language}-{name}.png"))

    def tap(cred: Any) -> None:
        threading.Thread(target=agent.on_read, args=(CardRead("qr", "test", text=county.qr(cred)),)).start()

    def until(condition: Any) -> Generator[float, None, None]:
        """Wait (on Kivy's clock) for the agent's answer to show."""
        deadline = time.monotonic() + 20
        while not condition() and time.monotonic() < deadline:
            yield 0.1
        yield 0.4

    def shown() -> Generator[float, None, None]:
        goal = app.results_seen + 1
        deadline = time.monotonic() + 20
        while app.results_seen < goal and time.monotonic() < deadline:
            yield 0.1
        yield 0.4

    residents = [county.credential(name=n) for n in ("王*明", "李*英", "张*")]
    staff_card = county.credential(staff=True)
    yield 1.0
    idle = app.root.get_screen("idle")
    yield from until(lambda: idle.ids.courses.children)
    look("idle_register")
    rows = list(reversed(idle.ids.courses.children))
    seen["idle_courses"] = [[w.text for w in reversed(r.children)] for r in rows]
    label, button = rows[0].children[-1], rows[0].children[0]  # the elder-first sizes, on this panel
    seen["idle_sizes"] = {"button_dp": [button.width / Metrics.dp, button.height / Metrics.dp],
                          "text_dp": label.font_size / Metrics.dp,
                          "fits": all(r.children[-1].texture_size[1] <= r.children[-1].height + 2
                                      and r.y >= 0 for r in rows)}
    phone_row = next(r for r in rows if "智能手机入门" in r.children[-1].text or "Smartphone" in r.children[-1].text)
    phone_row.children[0].dispatch("on_release")  # its 报名: the registration screen, that course armed
    register = app.root.get_screen("register")
    yield from until(lambda: agent.registrations.intent is not None and register.prompt)
    look("idle_register_pressed")
    seen["idle_intent"] = agent.registrations.intent.course_id
    register.back()
    yield 0.5
    app.show_register()
    yield 0.8
    look("register")
    phone = next(c for c in agent.registrations.courses()["courses"] if c["course_id"] == "phone-basics")
    for n, resident in enumerate(residents):
        register.arm(phone, "register", phone["title_en"] if language == "en" else phone["title_zh"])
        yield from until(lambda: agent.registrations.intent is not None and register.prompt)
        if n == 0:
            look("register_armed")
        tap(resident)
        yield from shown()
        panel = register.consent_panel  # a first registration: the notice, yes/no
        if n == 0:
            look("register_consent")
            seen["register_consent_panel"] = panel.texts()
        before = register.answer
        panel.press(True)  # 同意
        if n == 0:
            yield 0.3
            look("register_consent_age")
            seen["register_consent_age_panel"] = panel.texts()
        panel.press(False)  # 已满 14 周岁
        yield from until(lambda b=before: register.answer != b)
        if n == 0:
            look("registered")
    look("waiting")
    register.back()
    yield 0.5

    tap(staff_card)
    yield from shown()
    pin = app.root.get_screen("pin")
    for key in [*STAFF_PIN, "ok"]:  # the PIN keypad (kiosk/ui/widgets/numpad.py)
        pin.ids.pad.press(key)
    yield 0.8
    staff = app.root.get_screen("staff")
    yield from until(lambda: app.root.current == "staff")
    staff.open_session()
    yield from until(lambda: staff.prompt)
    look("staff_pick_session")
    press(staff, "临时：太极拳" if language == "zh_CN" else "Now: Tai chi")
    yield 0.4
    look("staff_pick_minutes")
    press(staff, "60")
    yield from until(lambda: not staff.prompt)
    look("staff_opened")
    tap(residents[0])
    yield from shown()
    staff.manual()
    yield from until(lambda: staff.prompt)
    look("manual_pick_session")
    press(staff, "智能手机入门")  # the session's title as the programme gives it
    keypad = "学习码" if language == "zh_CN" else "Enter the code"
    yield from until(lambda: any(keypad in b for b in buttons(staff)))
    look("manual_pick_learner")
    press(staff, keypad)
    yield 0.4
    pad = next(w for w in staff.ids.choices.walk() if isinstance(w, NumPad))
    for digit in learner_code(987_654_321_098):
        pad.press(digit)
    yield 0.3
    look("manual_keypad")
    pad.press("ok")
    yield 0.4
    look("manual_pick_reason")
    press(staff, "忘带卡" if language == "zh_CN" else "Forgot the card")
    yield 0.4
    look("manual_pick_minutes")
    press(staff, "45")
    yield from until(lambda: not staff.prompt)
    look("manual_recorded")
    staff.show_roster()
    yield from until(lambda: staff.prompt)
    look("staff_pick_open")
    press(staff, "智能手机入门")
    yield from until(lambda: "/" in staff.output)
    look("staff_roster")
    # a walk-in: the notice on the staff's screen; "no" records nothing, a minor needs the guardian
    staff.output = ""
    staff.walkin()
    yield from until(lambda: getattr(staff, "consent_panel", None) is not None and staff.consent_panel.parent)
    look("walkin_consent")
    staff.consent_panel.press(False)  # 不同意
    yield from until(lambda: staff.output)
    look("walkin_refused")
    staff.output = ""
    staff.walkin()
    yield from until(lambda: staff.consent_panel.parent is not None)
    staff.consent_panel.press(True)
    staff.consent_panel.press(True)  # under 14 (privacy.guardian_age)
    yield 0.3
    look("walkin_guardian")
    staff.consent_panel.press(True)  # the guardian agrees
    yield from until(lambda: staff.slip_texture is not None)
    look("walkin_enrolled")
    with agent.lock:
        from records.record import parse_unverified

        rows = agent.journal.conn.execute("SELECT token FROM records ORDER BY seq").fetchall()
        seen["records"] = [{"type": r.type, **r.data} for r in (parse_unverified(t[0]) for t in rows)]


def main() -> None:
    out, language, shots, county, kiosk = driver_start()
    kiosk.set("kiosk", "driven_clock", "2026-11-23T08:50:00+08:00")  # a Monday, before the first session
    kiosk.set("rules", "debounce_seconds", 60)
    kiosk.set("ui", "language", language)
    kiosk.put_document(county.programme(programme.rows_to_body(ROWS)))
    seen: dict[str, Any] = {}
    with kiosk.running() as running:
        app = KioskUi(kiosk.socket, language=language, speech=False)
        staff_cards_on_roster(county, kiosk, running.agent, version=2)
        steps = scenario(app, county, running.agent, seen, shots, language)
        step_through(app, steps, seen)
        app.run()
    out.write_text(json.dumps(seen, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
