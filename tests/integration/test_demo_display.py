"""The README's demo with a display (issue 6): the touchscreen opens beside the panel of
sample cards; the panel "taps" them on the simulated reader; every tap shows on the screen
and every record reaches the gateway. Run on a virtual screen (Xvfb), real windows.

With LEARNCARD_SCREENSHOTS=<folder> the screen is also saved there as demo-display.png."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageGrab

from kiosk.ui import theme
from tests.support.venue import ROOT, wait_until
from tests.support.xvfb import virtual_screen

# what the autoplay taps, in order: four residents and a lost card, the first again (a
# check-out: the demo's debounce is 2 s), a forged card, a torn code
EXPECTED = ["checkin", "checkin", "checkin", "rejected", "checkin", "checkout", "rejected", "rejected"]


def checkins(folder: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{folder / 'kiosk' / 'state' / 'journal.sqlite3'}?mode=ro", uri=True)
        try:
            return int(conn.execute("SELECT count(*) FROM records WHERE type = 'attendance.checkin'").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def share_near(image: Image.Image, colour: tuple[float, ...], tolerance: int = 12) -> float:
    """The share of the image's pixels within ``tolerance`` of a theme colour."""
    want = np.array([round(c * 255) for c in colour[:3]])
    pixels = np.asarray(image.convert("RGB"), dtype=int).reshape(-1, 3)
    return float((np.abs(pixels - want) <= tolerance).all(axis=1).mean())


def test_the_demo_with_a_display(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    with virtual_screen() as display:
        env = {k: v for k, v in os.environ.items() if k not in ("SDL_VIDEODRIVER", "WAYLAND_DISPLAY")}
        env["DISPLAY"] = display
        proc = subprocess.Popen([sys.executable, "-m", "learncard", "demo", "--display", "--autoplay", "--keep",
                                 str(folder)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        try:
            wait_until("a check-in shown on the touchscreen", lambda: checkins(folder) >= 2, 150)
            time.sleep(1.0)  # the result screen is drawn
            shot = ImageGrab.grab(xdisplay=display)
            out, _ = proc.communicate(timeout=180)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    if os.environ.get("LEARNCARD_SCREENSHOTS"):
        shot.save(Path(os.environ["LEARNCARD_SCREENSHOTS"]) / "demo-display.png")
    assert proc.returncode == 0, out[-4000:]
    taps = [line.rsplit(" → ", 1)[1] for line in (folder / "panel.log").read_text().splitlines() if " → " in line]
    assert taps == EXPECTED
    assert "each once" in out and "0 pending" in out and "attendance.checkin     4" in out
    # both windows were really drawn: the touchscreen (left, 1280 px) shows a green check-in
    # banner; the panel (right of it) shows its dark-blue card buttons
    touchscreen, panel = shot.crop((0, 0, 1280, 800)), shot.crop((1290, 0, shot.width, 800))
    assert share_near(touchscreen, theme.OUTCOMES["checkin"][0]) > 0.1
    assert share_near(panel, theme.BUTTON) > 0.2
