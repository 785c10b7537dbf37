"""Drives the real touchscreen against a real agent, offscreen, the way people would: every
press is a pointer event through Kivy's input (a touch down and up at the widget's place on
the window), never a call of the handler. Speech is on, into a recording sink that keeps the
rendered audio. Writes what each screen said, the live widget tree's sizes and colours, and
(if asked) a screenshot of each, to a JSON file.

Run as its own process (Kivy's window is global):
    SDL_VIDEODRIVER=offscreen KIVY_NO_ARGS=1 KIVY_HOME=<tmp> \\
        python -m tests.support.ui_driver OUT.json LANG WxH INCHES MODE [SHOTS]
MODE: ``flows`` (residents, staff, faults; agent in this process) or ``agent-kill`` (the
agent is its own process, killed with SIGKILL and started again).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

from kiosk.ui.theme import density

OUT, LANGUAGE, PIXELS, INCHES, MODE = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
SHOTS = Path(sys.argv[6]) if len(sys.argv) > 6 else None
os.environ["KIVY_METRICS_DENSITY"] = str(density(PIXELS, INCHES))  # before Kivy reads it

from kivy.config import Config  # noqa: E402

Config.set("graphics", "width", PIXELS.split("x")[0])
Config.set("graphics", "height", PIXELS.split("x")[1])

from kivy.core.window import Window  # noqa: E402
from kivy.metrics import Metrics  # noqa: E402
from kivy.tests.common import UnitTestTouch  # noqa: E402
from kivy.uix.button import Button  # noqa: E402
from kivy.uix.label import Label  # noqa: E402
from kivy.uix.modalview import ModalView  # noqa: E402
from kivy.uix.scrollview import ScrollView  # noqa: E402
from kivy.uix.textinput import TextInput  # noqa: E402

from kiosk.control import ControlClient  # noqa: E402
from kiosk.reader.base import CardRead  # noqa: E402
from kiosk.ui import theme  # noqa: E402
from kiosk.ui.app import KioskUi  # noqa: E402
from kiosk.ui.speech import RecordingSink  # noqa: E402
from kiosk.ui.widgets.banner import Banner  # noqa: E402
from kiosk.ui.widgets.numpad import NumPad, NumPadPopup  # noqa: E402
from records import programme  # noqa: E402
from records.ids import learner_code  # noqa: E402
from records.record import parse_unverified  # noqa: E402
from tests.support.county import TestCounty  # noqa: E402
from tests.support.kiosk import STAFF_PIN, KioskSetup  # noqa: E402
from tests.support.ui_run import step_through  # noqa: E402

Steps = Generator[float, None, None]
PHONE = {"venue": "v-test", "course_id": "phone-basics", "title_zh": "智能手机入门", "title_en": "Smartphone basics",
         "category": "science-tech", "form": "workshop", "audience": "elderly", "staff_id": "", "capacity": "",
         "registration": "none", "credit_rule": "standard", "date": "", "weekday": "1", "term_start": "2026-01-01",
         "term_end": "2030-12-31", "start": "09:00", "end": "10:30"}


def texts(screen: Any) -> dict[str, str]:
    """The screen's own text properties (headline, greeting …) and its named widgets' texts."""
    own = {name: value for name in screen.properties() if isinstance(value := getattr(screen, name), str)}
    return own | {name: w.text for name, w in screen.ids.items() if hasattr(w, "text") and isinstance(w.text, str)}


def visible(widget: Any) -> bool:
    while widget is not None:
        if getattr(widget, "opacity", 1) == 0 or widget.width <= 1 or widget.height <= 1:
            return False
        widget = widget.parent if widget.parent is not widget else None
    return True


def scrolled(widget: Any) -> bool:
    """Inside a scroll view (may be scrolled into sight)."""
    parent = widget.parent
    while parent is not None and parent is not parent.parent:
        if isinstance(parent, ScrollView):
            return True
        parent = parent.parent
    return False


def on_screen(widget: Any) -> bool:
    x0, y0 = widget.to_window(widget.x, widget.y)
    x1, y1 = widget.to_window(widget.right, widget.top)
    return -1 <= x0 and -1 <= y0 and x1 <= Window.width + 1 and y1 <= Window.height + 1


def background_of(widget: Any) -> tuple:
    """The colour behind a label: its banner's, a modal's, else the screen's."""
    parent = widget.parent
    while parent is not None and parent is not parent.parent:
        if isinstance(parent, Banner):
            return tuple(parent.banner)
        parent = parent.parent
    return theme.BACKGROUND


def measure(root: Any) -> list[dict[str, Any]]:
    """Every visible text and button in the live tree: size in dp, contrast."""
    found = []
    stack = [root]
    while stack:
        w = stack.pop()
        stack.extend(w.children)
        if not visible(w):
            continue
        if isinstance(w, TextInput):
            for text, colour in ((w.hint_text, w.hint_text_color), (w.text, w.foreground_color)):
                if text:
                    found.append({"kind": "input", "text": text[:200], "dp": w.font_size / Metrics.dp,
                                  "contrast": theme.contrast(colour, w.background_color)})
            found.append({"kind": "target", "text": w.hint_text[:200], "dp": min(w.size) / Metrics.dp})
            continue
        if isinstance(w, Button):
            found.append({"kind": "target", "text": w.text[:200], "dp": min(w.size) / Metrics.dp,
                          "on_screen": scrolled(w) or on_screen(w)})
            if w.text:
                fg = w.disabled_color if w.disabled else w.color
                bg = w.background_color
                found.append({"kind": "button", "text": w.text[:200], "dp": w.font_size / Metrics.dp,
                              "contrast": theme.contrast(fg, bg), "disabled": w.disabled})
        elif isinstance(w, Label) and w.text.strip():
            found.append({"kind": "label", "text": w.text[:200], "dp": w.font_size / Metrics.dp,
                          "contrast": theme.contrast(w.color, background_of(w)),
                          "overflow": w.texture_size[0] > w.width + 2 or w.texture_size[1] > w.height + 2})
    return found


class Driver:
    def __init__(self, app: KioskUi, sink: RecordingSink) -> None:
        self.app, self.sink = app, sink
        self.seen: dict[str, Any] = {}

    def look(self, name: str) -> None:
        app = self.app
        screen = app.root.current_screen
        overlay = [w for w in Window.children if isinstance(w, ModalView)]
        self.seen[name] = {"screen": screen.name, **texts(screen), "spoken": list(app.speaker.spoken),
                           "wavs": len(self.sink.wavs), "overlay": bool(overlay),
                           "overlay_text": " ".join(texts(overlay[0]).values()) if overlay else "",
                           "widgets": measure(overlay[0] if overlay else screen)}
        if SHOTS is not None:
            Window.screenshot(str(SHOTS / f"{PIXELS}-{LANGUAGE}-{name}.png"))
            produced = sorted(SHOTS.glob(f"{PIXELS}-{LANGUAGE}-{name}*.png"), key=lambda p: p.stat().st_mtime)
            if produced:
                produced[-1].replace(SHOTS / f"{PIXELS}-{LANGUAGE}-{name}.png")

    def press(self, widget: Any) -> Steps:
        """A finger on the widget: down, a moment, up — through Kivy's input, not the handler.
        A widget in a scroll view is scrolled into sight first, as a person would."""
        parent = widget.parent
        while parent is not None and parent is not parent.parent:
            if isinstance(parent, ScrollView):
                parent.scroll_to(widget, padding=10, animate=False)
                yield 0.3
                break
            parent = parent.parent
        x, y = widget.to_window(*widget.center)
        assert 0 <= x <= Window.width and 0 <= y <= Window.height, f"{widget} is off the screen at {x, y}"
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        yield 0.05
        touch.touch_up()
        yield 0.25

    def until(self, what: str, condition: Any, deadline: float = 40) -> Steps:
        end = time.monotonic() + deadline
        while not condition():
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {what} (on the {self.app.root.current} screen)")
            yield 0.1
        yield 0.3  # let the screen draw it

    def shown(self) -> Steps:
        goal = self.app.results_seen + 1
        yield from self.until("a tap result", lambda: self.app.results_seen >= goal)

    def spoken(self, count: int) -> Steps:
        yield from self.until("speech in the sink", lambda: len(self.sink.wavs) >= count)

    def keys(self, pad: NumPad, typed: str) -> Steps:
        by_key = {k.key: k for k in pad.ids["keys"].children}
        for ch in typed:
            yield from self.press(by_key[{"<": "back", "!": "ok"}.get(ch, ch)])


def flows(d: Driver, app: KioskUi, kiosk: KioskSetup, county: TestCounty, agent: Any) -> Steps:
    seen = d.seen

    def tap(cred: Any) -> None:
        threading.Thread(target=agent.on_read, args=(CardRead("qr", "test", text=county.qr(cred)),)).start()

    def shift_clock(seconds: int) -> None:
        with agent.lock:  # the agent's own connection: never used from two threads at once
            agent.journal.conn.execute("UPDATE open_checkins SET mono = mono - ?", (seconds * 10**9,))
            agent.journal.conn.execute("UPDATE last_taps SET mono = mono - ?", (seconds * 10**9,))

    resident, lost, staff_card = county.credential(), county.credential(name="李*英"), county.credential(staff=True)
    yield from d.until("the tap prompt", lambda: app.root.current == "idle")
    d.look("idle")
    tap(resident)
    yield from d.shown()
    yield from d.spoken(1)
    d.look("checkin")
    seen["checkin_wav"] = len(d.sink.wavs[-1])
    # speech is rendered in a process of its own: pypinyin never loaded into the screen's
    seen["speech_apart"] = {"pypinyin_here": "pypinyin" in sys.modules, "renderer": app.speaker.renderer.pid(),
                            "screen": os.getpid()}
    headline = app.root.get_screen("result").ids.banner.ids.headline_label
    checkin_texture = headline.texture
    yield from d.press(app.root.get_screen("result").ids.repeat)  # 再听一遍
    yield from d.spoken(2)
    seen["repeat_wavs"] = len(d.sink.wavs)
    # the result goes back to the tap prompt by itself, the bar draining meanwhile
    result = app.root.get_screen("result")
    yield from d.until("the bar to drain", lambda: result.remaining < 0.7)
    seen["bar_mid"] = result.remaining
    d.look("draining")
    yield from d.until("the result to time out", lambda: app.root.current == "idle")
    d.look("timed_out")
    tap(resident)
    yield from d.shown()
    d.look("duplicate")
    kiosk.put_document(county.revocations([lost.card_id], version=2))
    agent.docs.update("revoked-cards", county.revocations([lost.card_id], version=2).token)
    tap(lost)  # at once, over the duplicate
    yield from d.shown()
    d.look("rejected")
    shift_clock(3000)
    tap(resident)
    yield from d.shown()
    d.look("checkout")
    # a same-size headline gets a new texture, never an upload into the one a frame draws from
    seen["headline_texture_new"] = headline.texture is not checkin_texture  # same size in zh_CN: 7 characters
    yield 11  # past the result time: a rating waits
    seen["rating_still_up"] = app.root.current == "result" and bool(result.rating_for)
    yield from d.press(result.ids.face4)
    d.look("rated")
    with agent.lock:
        seen["ratings"] = agent.journal.conn.execute("SELECT count(*) FROM ratings").fetchone()[0]

    # staff: PIN on the keypad
    tap(staff_card)
    yield from d.shown()
    pin = app.root.get_screen("pin")
    pad = pin.ids.pad
    before = [tuple(k.to_window(*k.pos)) + tuple(k.size) for k in pad.ids["keys"].children]
    yield from d.keys(pad, "0")
    seen["keys_fixed"] = before == [tuple(k.to_window(*k.pos)) + tuple(k.size) for k in pad.ids["keys"].children]
    yield from d.keys(pad, "00<0")
    seen["pin_dots_after_back"] = pad.shown.count("●")
    yield from d.keys(pad, "0!")
    yield from d.until("the PIN answer", lambda: bool(pin.error))
    d.look("pin")
    yield from d.keys(pad, STAFF_PIN + "!")
    yield from d.until("the staff screen", lambda: app.root.current == "staff")
    d.look("staff")
    staff = app.root.get_screen("staff")
    staff._open(course_id="phone-basics", minutes=90)  # what picking 临时 + 90 分钟 sends (programme screens)
    yield from d.until("the session", lambda: bool((app.state or {}).get("sessions")))
    tap(county.credential(name="张*"))  # a resident taps while staff work: an overlay answers
    yield from d.shown()
    yield from d.until("the overlay", lambda: app.overlay is not None)
    d.look("overlay")
    yield from d.press(app.overlay.ids.done)
    seen["overlay_closed"] = app.overlay is None
    yield from d.press(staff.ids.roster)
    yield from d.until("the roster", lambda: "/" in staff.output)
    staff.clear_choices()
    d.look("roster")
    # a learner code on the keypad: a wrong check digit is caught before anything is sent
    code = learner_code(987_654_321_098)
    entered: list[str] = []
    holder = NumPadPopup(entered.append, app.language)
    holder.open(animation=False)
    entry = holder.ids.pad
    yield 0.5
    yield from d.keys(entry, code[:-1] + str((int(code[-1]) + 1) % 10) + "!")
    seen["bad_code_error"], seen["bad_code_sent"] = entry.error, list(entered)
    d.look("keypad_bad_code")
    yield from d.keys(entry, "<" + code[-1] + "!")
    seen["code_entered"] = list(entered)
    seen["keypad_closed"] = holder._window is None
    yield 0.3
    staff._record(entered[0] if entered else "", "forgot-card", 60)  # what the programme screens' choices send
    yield from d.until("the manual attendance", lambda: "0987" in staff.output)
    d.look("manual")
    yield from d.press(staff.ids.walkin)
    yield from d.until("the privacy notice", lambda: getattr(staff, "consent_panel", None) is not None
                       and staff.consent_panel.parent is not None)
    d.look("walkin_consent")
    yield from d.press(staff.consent_panel.yes)  # 同意
    yield from d.press(staff.consent_panel.no)  # 已满 18 周岁
    yield from d.until("the walk-in slip", lambda: staff.slip_texture is not None)
    d.look("walkin")
    yield from d.press(staff.ids.figures)
    yield from d.until("the figures", lambda: "人次" in staff.output or "check-ins" in staff.output)
    d.look("figures")
    yield from corrections(d, app, agent)
    yield from d.press(app.staff_extras.ids.louder)
    yield from d.until("the test tone", lambda: app.speaker.health()["last_ok"] is not None)
    seen["volume_after_louder"] = app.speaker.volume
    yield from d.press(staff.ids.close_session)
    yield from d.until("the close", lambda: not (app.state or {}).get("sessions"))
    yield 0.5
    d.look("closed")
    with agent.lock:
        seen["auto_checkouts"] = agent.journal.conn.execute(
            "SELECT count(*) FROM records WHERE type = 'attendance.checkout'").fetchone()[0]
    # the idle-lock warning: wait without touching anything
    yield from d.until("the idle warning", lambda: bool(app.staff_extras.warning), deadline=90)
    d.look("idle_warning")
    yield from d.press(app.staff_extras.ids.warning)
    yield from d.until("the warning to go", lambda: not app.staff_extras.warning)
    seen["still_staff_after_warning"] = app.root.current == "staff"
    yield from d.press(staff.ids.lock)
    yield from d.until("the lock", lambda: app.root.current == "idle")
    d.look("locked")
    # lock-out: wrong PINs until the agent locks the staff card; the keys go grey and count down
    for _ in range(3):
        tap(staff_card)
        yield from d.shown()
        yield from d.keys(pad, "9999!")
        yield 0.8
    yield from d.until("the lock-out", lambda: pin.locked)
    d.look("lockout")
    seen["lockout_keys_disabled"] = all(k.disabled for k in pad.ids["keys"].children)
    first = pin.error
    yield 1.6
    seen["lockout_counts_down"] = first != pin.error
    yield from d.press(pin.ids.cancel)
    # faults: each puts up 暂停使用 and clears by itself
    spoken_before = len(d.sink.wavs)
    agent.clock.trust_rtc = False
    agent.emit_state()
    yield from d.until("paused for the clock", lambda: app.root.current == "paused")
    yield from d.spoken(spoken_before + 1)
    d.look("paused_clock")
    agent.clock.trust_rtc = True
    agent.emit_state()
    yield from d.until("the clock fault to clear", lambda: app.root.current == "idle")
    seen["clock_cleared"] = True
    agent.reader_status("simulated", "error", "unplugged")
    yield from d.until("paused for the reader", lambda: app.root.current == "paused")
    d.look("paused_reader")
    agent.reader_status("simulated", "ready", "")
    yield from d.until("the reader fault to clear", lambda: app.root.current == "idle")
    seen["reader_cleared"] = True
    yield from d.press(app.root.get_screen("idle").ids.language)
    yield 0.6
    d.look("language_toggled")


def corrections(d: Driver, app: KioskUi, agent: Any) -> Steps:
    """更正: staff void the first resident's check-in (the oldest row) with a reason, confirm,
    and the list shows it voided; the journal holds the signed correction."""
    seen = d.seen
    yield from d.press(app.root.get_screen("staff").ids.correct)
    screen = app.root.get_screen("corrections")
    rows = screen.ids.rows

    def void_buttons() -> list[Any]:
        return [b for b in reversed(rows.children) if hasattr(b, "record_id")]

    yield from d.until("today's attendance", lambda: app.root.current == "corrections" and bool(void_buttons()))
    d.look("corrections")
    with agent.lock:
        target = agent.journal.conn.execute(
            "SELECT id FROM records WHERE type = 'attendance.checkin' ORDER BY epoch, seq LIMIT 1").fetchone()[0]
    button = next(b for b in void_buttons() if b.record_id == target)
    seen["void_rows"] = len(void_buttons())
    yield from d.press(button)
    yield from d.until("the reasons", lambda: not void_buttons() and len(rows.children) > 2)
    d.look("void_reason")
    reason = list(reversed(rows.children))[0]  # the first reason offered
    seen["void_reason_text"] = reason.text
    yield from d.press(reason)
    yield from d.until("the confirm step", lambda: len(rows.children) == 2)
    d.look("void_confirm")
    yield from d.press(list(reversed(rows.children))[0])  # 确定作废
    yield from d.until("the void", lambda: bool(screen.output) and bool(void_buttons()))
    d.look("voided")
    seen["voided_row_disabled"] = next(b for b in void_buttons() if b.record_id == target).disabled
    seen["voided_rows"] = sum(b.disabled for b in void_buttons())
    with agent.lock:
        tokens = [r[0] for r in agent.journal.conn.execute("SELECT token FROM records WHERE type = 'correction'")]
    seen["corrections_made"] = [{"target": c.data["target"], "reason": c.data["reason"],
                                 "staff_id": c.data["staff_id"], "action": c.data["action"]}
                                for c in map(parse_unverified, tokens)]
    seen["void_target"] = target
    # the list on screen goes stale: the manual attendance is voided elsewhere meanwhile (a second
    # staff member at another kiosk's socket); voiding it here is refused, in words
    yield 0.5
    stale = next(b for b in void_buttons() if not b.disabled)
    with agent.lock:
        agent.voids.void("s-0001", {"record_id": stale.record_id, "reason": "duplicate"})
    for _ in range(3):  # on the 7" panel a press right after the list's rebuild was seen to miss (see report)
        yield from d.press(stale)
        end = time.monotonic() + 5
        while void_buttons() and time.monotonic() < end:
            yield 0.1
        if not void_buttons():
            break
    seen["stale_presses"] = _ + 1
    yield from d.until("the reasons", lambda: not void_buttons() and len(rows.children) > 2)
    yield from d.press(list(reversed(rows.children))[0])
    yield from d.until("the confirm step", lambda: len(rows.children) == 2)
    yield from d.press(list(reversed(rows.children))[0])
    yield from d.until("the refusal", lambda: screen.refused and bool(void_buttons()))
    d.look("void_refused")
    with agent.lock:
        seen["corrections_after_refusal"] = agent.journal.conn.execute(
            "SELECT count(*) FROM records WHERE type = 'correction'").fetchone()[0]
    yield from d.press(screen.ids.back)
    yield from d.until("the staff screen again", lambda: app.root.current == "staff")


def agent_kill(d: Driver, app: KioskUi, kiosk: KioskSetup, county: TestCounty, agent_args: list[str]) -> Steps:
    """The agent is a process of its own: a result is up, the agent dies, the screen must not
    keep the last resident's success; the agent comes back, the screen clears by itself."""
    seen = d.seen
    proc = subprocess.Popen(agent_args)
    try:
        yield from d.until("the tap prompt", lambda: app.root.current == "idle", deadline=60)
        resident = county.credential()
        with ControlClient(kiosk.socket, timeout=20) as c:
            c.call("tap", text=county.qr(resident))
        yield from d.until("the result", lambda: app.root.current == "result")
        d.look("before_kill")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        yield from d.until("the paused screen", lambda: app.root.current == "paused")
        d.look("agent_killed")
        seen["result_gone"] = app.root.current != "result"
        proc = subprocess.Popen(agent_args)
        yield from d.until("the tap prompt again", lambda: app.root.current == "idle", deadline=60)
        d.look("agent_back")
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    out = Path(OUT)
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
    county = TestCounty()
    kiosk = KioskSetup(county, Path(tempfile.mkdtemp(prefix="lc-ui-")) / "kiosk")
    kiosk.set("rules", "debounce_seconds", 60)
    kiosk.set("rules", "staff_pin_attempts", 3)
    kiosk.set("rules", "staff_idle_lock_seconds", 40)
    kiosk.set("kiosk", "trust_rtc", True)
    kiosk.set("ui", "language", LANGUAGE)
    kiosk.put_document(county.programme(programme.rows_to_body([PHONE])))
    sink = RecordingSink()
    app = KioskUi(kiosk.socket, language=LANGUAGE, speech=True, sink=sink)
    d = Driver(app, sink)

    def run(steps: Steps) -> None:
        step_through(app, steps, d.seen)
        started = time.monotonic()
        app.run()
        d.seen["seconds"] = time.monotonic() - started

    if MODE == "agent-kill":
        staff = county.credential(staff=True)
        kiosk.put_document(kiosk.staff_roster({"s-0001": staff}))
        args = [sys.executable, "-m", "learncard", "kiosk", "--config", str(kiosk.config_file), "agent"]
        run(agent_kill(d, app, kiosk, county, args))
    else:
        with kiosk.running() as running:
            original = county.credential

            def credential(**kw: Any) -> Any:
                cred = original(**kw)
                if kw.get("staff"):
                    doc = kiosk.staff_roster({"s-0001": cred}, version=2 + len(d.seen))
                    running.agent.docs.update("staff", doc.token)
                return cred

            county.credential = credential  # type: ignore[method-assign]
            run(flows(d, app, kiosk, county, running.agent))
    d.seen["density"] = Metrics.density
    out.write_text(json.dumps(d.seen, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
