"""How the touchscreen's memory moves as results follow one another: shows RESULTS tap
results on KioskUi's result screen, offscreen, one every PACE frames, and prints the RSS
(MB) every 100 results as JSON. ``--kivy-label`` gives every label Kivy's own texture
handling, to compare. Speech is off; the results come in as the agent's events.

    SDL_VIDEODRIVER=offscreen KIVY_NO_ARGS=1 KIVY_HOME=<tmp> python -m tests.support.ui_memory_probe RESULTS PACE [--kivy-label]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from kivy.config import Config

Config.set("graphics", "width", "1280")
Config.set("graphics", "height", "800")

from kivy.clock import Clock  # noqa: E402

from kiosk.ui.app import KioskUi  # noqa: E402
from kiosk.ui.widgets.fresh_label import FreshLabel  # noqa: E402

OUTCOMES = ("checkin", "checkout", "duplicate", "rejected")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def result(k: int) -> dict[str, Any]:
    """Every result another outcome, name, course and minutes (the texts' sizes change too)."""
    return {"outcome": OUTCOMES[k % 4], "name": f"王{k}明", "seconds_today": 60 * (k % 300), "minutes_year": 1000 + k,
            "message": {"zh_CN": f"欢迎！签到成功\n《课程{k}》", "en": f"Welcome! Checked in\nCourse {k}"}}


def main() -> None:
    results, pace = int(sys.argv[1]), int(sys.argv[2])
    if "--kivy-label" in sys.argv:
        from kivy.uix.label import Label

        FreshLabel.texture_update = Label.texture_update  # type: ignore[method-assign]
    app = KioskUi(Path(tempfile.mkdtemp(prefix="lc-ui-")) / "no-agent.sock", speech=False)
    app.client.start = lambda: None  # type: ignore[method-assign]  # no agent: no "disconnected" every second
    rss: list[tuple[int, float]] = []
    frames = [0, 0]  # frames seen, results shown

    def step(_dt: float) -> None:
        frames[0] += 1
        if frames[0] % pace:
            return
        shown = frames[1]
        if shown % 100 == 0:
            rss.append((shown, round(rss_mb(), 1)))
        if shown >= results:
            print(json.dumps({"pace": pace, "rss": rss}), flush=True)
            app.stop()
            return
        app.on_agent_message({"event": "tap.result", "result": result(shown)})
        frames[1] += 1

    app.bind(on_start=lambda *_: Clock.schedule_once(lambda dt: Clock.schedule_interval(step, 0), 1))
    app.run()


if __name__ == "__main__":
    main()
