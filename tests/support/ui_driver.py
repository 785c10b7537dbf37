"""Drives the real touchscreen against a real agent, offscreen, the way people would, and
writes what each screen said (and, if asked, a screenshot of each) to a JSON file.

Run as its own process (Kivy's window is global):
    SDL_VIDEODRIVER=offscreen KIVY_NO_ARGS=1 KIVY_HOME=<tmp> python -m tests.support.ui_driver OUT.json LANG [SHOTS]
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

from kivy.config import Config

Config.set("graphics", "width", "1280")
Config.set("graphics", "height", "800")

from kivy.clock import Clock  # noqa: E402 - after the window's size is set

from kiosk.reader.base import CardRead  # noqa: E402
from kiosk.ui.app import KioskUi  # noqa: E402
from records import programme  # noqa: E402
from records.ids import learner_code  # noqa: E402
from tests.support.county import TestCounty  # noqa: E402
from tests.support.kiosk import STAFF_PIN, KioskSetup  # noqa: E402

PHONE = {"venue": "v-test", "course_id": "phone-basics", "title_zh": "智能手机入门", "title_en": "Smartphone basics",
         "category": "science-tech", "form": "workshop", "audience": "elderly", "staff_id": "", "capacity": "",
         "registration": "none", "credit_rule": "standard", "date": "", "weekday": "1", "term_start": "2026-01-01",
         "term_end": "2030-12-31", "start": "09:00", "end": "10:30"}


def texts(screen: Any) -> dict[str, str]:
    return {name: w.text for name, w in screen.ids.items() if hasattr(w, "text") and isinstance(w.text, str)}


def scenario(app: KioskUi, kiosk: KioskSetup, county: TestCounty, agent: Any, seen: dict[str, Any],
             shots: Path | None, language: str) -> Generator[float, None, None]:
    def look(name: str) -> None:
        screen = app.root.current_screen
        seen[name] = {"screen": screen.name, **texts(screen), "spoken": list(app.speaker.spoken)}
        if shots is not None:
            app.root.export_to_png(str(shots / f"{language}-{name}.png"))

    def tap(cred: Any) -> None:
        threading.Thread(target=agent.on_read, args=(CardRead("qr", "test", text=county.qr(cred)),)).start()

    def shown() -> Generator[float, None, None]:
        """Wait (on Kivy's clock) until the screen has shown one more tap result."""
        goal = app.results_seen + 1
        deadline = time.monotonic() + 20
        while app.results_seen < goal and time.monotonic() < deadline:
            yield 0.1
        yield 0.3  # let the screen draw it

    def shift_clock(seconds: int) -> None:
        with agent.lock:  # the agent's own connection: never used from two threads at once
            agent.journal.conn.execute("UPDATE open_checkins SET mono = mono - ?", (seconds * 10**9,))
            agent.journal.conn.execute("UPDATE last_taps SET mono = mono - ?", (seconds * 10**9,))

    resident, lost, staff_card = county.credential(), county.credential(name="李*英"), county.credential(staff=True)
    yield 1.0
    look("idle")
    tap(resident)
    yield from shown()
    look("checkin")
    tap(resident)
    yield from shown()
    look("duplicate")
    kiosk.put_document(county.revocations([lost.card_id], version=2))
    agent.docs.update("revoked-cards", county.revocations([lost.card_id], version=2).token)
    tap(lost)
    yield from shown()
    look("rejected")
    shift_clock(3000)
    tap(resident)
    yield from shown()
    look("checkout")
    app.root.get_screen("result").rate(4)
    yield 0.6
    look("rated")
    with agent.lock:
        seen["ratings"] = agent.journal.conn.execute("SELECT count(*) FROM ratings").fetchone()[0]
    tap(staff_card)
    yield from shown()
    pin = app.root.get_screen("pin")
    for digit in "0000":
        pin.press(digit)
    pin.submit()
    yield 0.8
    look("pin")
    for digit in STAFF_PIN:
        pin.press(digit)
    pin.submit()
    yield 0.8
    look("staff")
    staff = app.root.get_screen("staff")
    staff._open(course_id="phone-basics", minutes=90)  # what picking 临时 + 90 分钟 sends
    yield 0.6
    tap(county.credential(name="张*"))
    yield from shown()
    staff.show_roster()
    yield 0.6
    look("roster")
    staff._record(learner_code(987_654_321_098), "forgot-card", 60)  # what the choices send
    deadline = time.monotonic() + 20
    while "0987" not in staff.output and time.monotonic() < deadline:  # the agent's answer
        yield 0.1
    yield 0.3
    look("manual")
    staff.walkin()
    yield 0.8
    look("walkin")
    seen["walkin_slip_shown"] = staff.slip_texture is not None
    staff.show_figures()
    yield 0.6
    look("figures")
    staff.close_session()
    yield 0.8
    look("closed")
    with agent.lock:
        seen["auto_checkouts"] = agent.journal.conn.execute(
            "SELECT count(*) FROM records WHERE type = 'attendance.checkout'").fetchone()[0]
    staff.lock()
    yield 0.6
    look("locked")
    # lock-out: wrong PINs until the agent locks the staff card
    for _ in range(3):
        tap(staff_card)
        yield from shown()
        for digit in "9999":
            pin.press(digit)
        pin.submit()
        yield 0.8
    look("lockout")
    app.toggle_language()
    yield 0.6
    look("language_toggled")


def main() -> None:
    out, language = Path(sys.argv[1]), sys.argv[2]
    shots = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    county = TestCounty()
    kiosk = KioskSetup(county, Path(tempfile.mkdtemp(prefix="lc-ui-")) / "kiosk")
    kiosk.set("rules", "debounce_seconds", 60)
    kiosk.set("rules", "staff_pin_attempts", 3)
    kiosk.set("ui", "language", language)
    kiosk.put_document(county.programme(programme.rows_to_body([PHONE])))
    staff = county.credential(staff=True)  # the roster names the staff card the scenario makes
    seen: dict[str, Any] = {}
    with kiosk.running() as running:
        app = KioskUi(kiosk.socket, language=language, speech=False)
        original = county.credential

        def credential(**kw: Any) -> Any:
            cred = original(**kw)
            if kw.get("staff"):
                doc = kiosk.staff_roster({"s-0001": cred}, version=2 + len(seen))
                running.agent.docs.update("staff", doc.token)
            return cred

        county.credential = credential  # type: ignore[method-assign]
        steps = scenario(app, kiosk, county, running.agent, seen, shots, language)

        def advance(_dt: float) -> None:
            try:
                Clock.schedule_once(advance, next(steps))
            except StopIteration:
                app.stop()
            except Exception as err:  # report, do not hang  # noqa: BLE001
                seen["error"] = repr(err)
                app.stop()

        Clock.schedule_once(advance, 0.5)
        started = time.monotonic()
        app.run()
        seen["seconds"] = time.monotonic() - started
        del staff
    out.write_text(json.dumps(seen, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
