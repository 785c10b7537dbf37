"""Measures the touchscreen in its own process (run by bench_ui): time to first frame,
card read → result drawn, RSS. ``hello`` mode measures a bare Kivy window as the baseline.

    python -m bench.ui_probe hello OUT.json
    python -m bench.ui_probe kiosk OUT.json TAPS AGENT_SOCKET CARDS.json
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path

STARTED = time.perf_counter()

from kivy.config import Config  # noqa: E402

Config.set("graphics", "width", "1280")
Config.set("graphics", "height", "800")
from kivy.clock import Clock  # noqa: E402


def rss_mb(pid: int | None = 0) -> float:
    """The resident memory of this process (or of ``pid``), MB; 0 when there is none."""
    if pid is None:
        return 0.0
    for line in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def hello(out: Path) -> None:
    from kivy.app import App
    from kivy.uix.label import Label

    result: dict[str, float] = {}

    class Hello(App):
        def build(self) -> Label:
            return Label(text="hello")

        def on_start(self) -> None:
            Clock.schedule_once(lambda dt: result.update(first_frame=time.perf_counter() - STARTED), 0)
            Clock.schedule_once(lambda dt: (result.update(rss=rss_mb()), self.stop()), 1.0)

    Hello().run()
    out.write_text(json.dumps(result))


def kiosk(out: Path, taps: int, socket: Path, cards_file: Path) -> None:
    """The touchscreen as a kiosk runs it: this process is the UI only (``learncard kiosk ui``
    runs ``KioskUi`` the same way), the agent runs in its own process behind ``socket``; the
    taps reach the agent over its control socket (``tap``) from a thread here, as a reader's
    would reach it inside the agent."""
    from kiosk.control import ControlClient
    from kiosk.ui.app import KioskUi
    from kiosk.ui.speech import RecordingSink

    cards = json.loads(cards_file.read_text())
    result: dict[str, object] = {}
    latencies: list[float] = []
    agent: list[float] = []  # read → the agent's answer (verified, signed, committed)
    spoken: list[float] = []  # read → the rendered sentence handed to the sound sink (its first sample)
    heard = threading.Event()
    sink = RecordingSink(on_play=lambda wav: heard.set(), keep=False)
    app = KioskUi(socket, speech=True, sink=sink)

    def drive() -> None:
        try:
            measure()
        except BaseException:  # noqa: BLE001 - reported in the output, not lost in a thread
            import traceback

            result["error"] = traceback.format_exc()
        Clock.schedule_once(lambda dt: app.stop(), 0)

    def measure() -> None:
        time.sleep(1.0)
        result["rss_start"] = rss_mb()
        if not taps:
            return
        if os.environ.get("LC_TRACEMALLOC"):  # where memory goes: Python objects vs the rest
            tracemalloc.start()
        reader = ControlClient(socket, timeout=30)
        for i in range(taps):
            goal = app.results_seen + 1
            heard.clear()
            t0 = time.perf_counter()
            answer = reader.call("tap", text=cards[i % len(cards)])
            agent.append(time.perf_counter() - t0)
            while app.results_seen < goal and time.perf_counter() - t0 < 10:
                time.sleep(0.0005)
            drawn = threading.Event()
            Clock.schedule_once(lambda dt, e=drawn: e.set(), 0)  # the frame after the result was laid out
            drawn.wait(10)
            if app.results_seen < goal:
                raise RuntimeError(f"tap {i}: the screen showed no result within 10 s ({answer})")
            latencies.append(time.perf_counter() - t0)
            if not heard.wait(30):
                raise RuntimeError(f"tap {i}: nothing was spoken within 30 s")
            spoken.append(time.perf_counter() - t0)
            time.sleep(0.05)
        reader.close()
        result.update(latencies=latencies, agent=agent, spoken=spoken, rss=rss_mb(), renderer_rss=rss_mb(
            app.speaker.renderer.pid()))
        if tracemalloc.is_tracing():
            result["python_growth"] = tracemalloc.get_traced_memory()[0] / 2**20
            result["python_top"] = [str(s) for s in tracemalloc.take_snapshot().statistics("lineno")[:12]]
            tracemalloc.stop()

    def first(dt: float) -> None:
        result["first_frame"] = time.perf_counter() - STARTED
        threading.Thread(target=drive, daemon=True).start()

    def started(*_: object) -> None:  # returns None: a true value would stop KioskUi.on_start
        Clock.schedule_once(first, 0)

    app.bind(on_start=started)
    app.run()
    out.write_text(json.dumps(result))


if __name__ == "__main__":
    if sys.argv[1] == "hello":
        hello(Path(sys.argv[2]))
    else:
        kiosk(Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5]))
