"""Running a touchscreen scenario for a test: a UI driver module as its own process (Kivy
offscreen, no DISPLAY, KIVY_HOME in the test's folder) whose findings come back as JSON, and,
inside the driver, the stepping of a scenario on Kivy's clock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def run_driver(module: str, folder: Path, language: str, *, timeout: int,
               env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``python -m module OUT LANGUAGE [SCREENSHOTS]`` offscreen; what it saw, or fail."""
    out = folder / "seen.json"
    environ = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    environ.update(SDL_VIDEODRIVER="offscreen", KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1",
                   KIVY_HOME=str(folder / "kivy"), PYTHONPATH=str(ROOT), **(env or {}))
    args = [sys.executable, "-m", module, str(out), language]
    if os.environ.get("LEARNCARD_SCREENSHOTS"):
        args.append(os.environ["LEARNCARD_SCREENSHOTS"])
    result = subprocess.run(args, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=timeout)
    assert 0 == result.returncode, result.stderr[-3000:]
    data: dict[str, Any] = json.loads(out.read_text())
    assert "error" not in data, data["error"]
    return data


def said(language: str, zh: Any, en: Any) -> Any:
    return en if language == "en" else zh


def step_through(app: Any, steps: Iterator[float], seen: dict[str, Any]) -> None:
    """Schedule the scenario's steps on Kivy's clock (each yields the delay to the next); stop
    the app at the end, or on an error, which goes into ``seen`` rather than hanging the test."""
    from kivy.clock import Clock

    def advance(_dt: float) -> None:
        try:
            Clock.schedule_once(advance, next(steps))
        except StopIteration:
            app.stop()
        except Exception as err:  # report, do not hang  # noqa: BLE001
            import traceback

            seen["error"] = repr(err) + traceback.format_exc()
            app.stop()

    Clock.schedule_once(advance, 0.5)


def staff_cards_on_roster(county: Any, kiosk: Any, agent: Any, version: int) -> None:
    """Each staff card the scenario makes goes on the kiosk's roster as ``s-0001`` (a roster of
    ``version``), so staff mode opens with it."""
    original = county.credential

    def credential(**kw: Any) -> Any:
        cred = original(**kw)
        if kw.get("staff"):
            agent.docs.update("staff", kiosk.staff_roster({"s-0001": cred}, version=version).token)
        return cred

    county.credential = credential


def driver_start() -> tuple[Path, str, Path | None, Any, Any]:
    """A driver's arguments (``OUT LANGUAGE [SCREENSHOTS]``) and a fresh county with a kiosk
    in a temporary folder: ``(out, language, shots, county, kiosk)``."""
    import tempfile

    from tests.support.county import TestCounty
    from tests.support.kiosk import KioskSetup

    out, language = Path(sys.argv[1]), sys.argv[2]
    shots = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    county = TestCounty()
    return out, language, shots, county, KioskSetup(county, Path(tempfile.mkdtemp(prefix="lc-ui-")) / "kiosk")
