"""Shows many tap results on the touchscreen, offscreen, and counts what the labels do with
textures: how many the core label creates, and whether a changed text was ever drawn into
the texture the frame before drew from (the wait under llvmpipe, kiosk/ui/widgets/fresh_label.py).
Results come in as the agent's ``tap.result`` events; no agent is needed for the drawing.

Run as its own process (Kivy's window is global):
    SDL_VIDEODRIVER=offscreen KIVY_NO_ARGS=1 KIVY_HOME=<tmp> python -m tests.support.ui_memory_driver OUT.json LANG
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Generator
from pathlib import Path
from typing import Any

from kivy.config import Config

Config.set("graphics", "width", "1280")
Config.set("graphics", "height", "800")

import kivy.core.text  # noqa: E402

from kiosk.ui.app import KioskUi  # noqa: E402
from kiosk.ui.widgets.fresh_label import FreshLabel  # noqa: E402
from tests.support.ui_run import step_through  # noqa: E402

WARM_UP = 4  # results before counting: each label's first textures
RESULTS = 120  # counted results, every one with another name and other minutes


class CountingTexture:
    """Stands for Texture in Kivy's core label module: counts what it creates."""

    created = 0

    def __init__(self, real: Any) -> None:
        self.real = real

    def create(self, *args: Any, **kwargs: Any) -> Any:
        CountingTexture.created += 1
        return self.real.create(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def result(k: int) -> dict[str, Any]:
    """A check-in whose words differ from the one before but whose lines do not (same pixel size)."""
    return {"outcome": "checkin", "name": f"王{k % 10}明", "minutes_year": 1000 + k % 10, "seconds_today": 60 * (k % 10),
            "message": {"zh_CN": f"欢迎！签到成功\n《课程{k % 10}》", "en": f"Welcome! Checked in\nCourse {k % 10}"}}


def scenario(app: KioskUi, seen: dict[str, Any]) -> Generator[float, None, None]:
    screen = app.root.get_screen("result")
    labels = [w for w in screen.walk() if isinstance(w, FreshLabel)]
    drawn: dict[int, tuple[str, Any]] = {}
    seen.update(labels=len(labels), results=0, redrawn_in_place=[])
    for k in range(WARM_UP + RESULTS):
        if k == WARM_UP:
            CountingTexture.created = 0
        for i, label in enumerate(labels):  # what the frame just drawn drew from
            before = drawn.get(i)
            if before is not None and label.text and label.text != before[0] and label.texture is before[1]:
                seen["redrawn_in_place"].append(label.text)
            drawn[i] = (label.text, label.texture)
        app.on_agent_message({"event": "tap.result", "result": result(k)})
        seen["results"] += k >= WARM_UP
        yield 0  # the next frame: texture_update runs, the frame draws
    seen["created"] = CountingTexture.created
    seen["screen"] = app.root.current
    yield from idle_rows(app, seen)


def course(registered: int) -> dict[str, Any]:
    return {"title_zh": "智能手机入门", "title_en": "Smartphones", "day": "2026-12-01", "start": "09:00",
            "end": "10:30", "capacity": 20, "registered": registered, "full": False}


def idle_rows(app: KioskUi, seen: dict[str, Any]) -> Generator[float, None, None]:
    """The idle screen's next courses through 20 agent state events: the same rows, until a
    place is taken."""
    app.show_idle()
    idle = app.root.get_screen("idle")
    idle._listed({"ok": True, "result": {"courses": [course(3), course(5)]}})
    yield 0
    rows = list(idle.ids.courses.children)
    for n in range(20):
        app.on_agent_message({"event": "state", "state": {"venue": "v", "sessions": [], "n": n}})
        yield 0
    seen["rows_kept"] = bool(rows) and list(idle.ids.courses.children) == rows
    idle._listed({"ok": True, "result": {"courses": [course(4), course(5)]}})
    yield 0
    seen["rows_after_a_place_taken"] = [w.text for row in idle.ids.courses.children for w in row.children]


def main() -> None:
    out, language = Path(sys.argv[1]), sys.argv[2]
    kivy.core.text.Texture = CountingTexture(kivy.core.text.Texture)  # type: ignore[attr-defined,assignment]
    seen: dict[str, Any] = {}
    app = KioskUi(Path(tempfile.mkdtemp(prefix="lc-ui-")) / "no-agent.sock", language=language, speech=False)
    app.client.start = lambda: None  # type: ignore[method-assign]  # no agent: no "disconnected" every second
    app.bind(on_start=lambda *_: step_through(app, scenario(app, seen), seen))
    app.run()
    out.write_text(json.dumps(seen, ensure_ascii=False))


if __name__ == "__main__":
    main()
