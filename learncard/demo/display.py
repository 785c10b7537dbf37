"""The demo with a display: the kiosk's touchscreen (`learncard kiosk ui`) beside the panel
of sample cards (`learncard.demo.panel`), both against the running venue. The demo ends
when either window is closed, the autoplay has tapped every card, or on Ctrl-C; then every
record is settled at the gateway as in the headless run."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from typing import Any

from learncard.demo.processes import Child
from learncard.demo.venue import STAFF_PIN, TORN_QR, Venue, settle

UI_SIZE = (1280, 800)
GAP = 10  # px between the two windows


def display_available() -> bool:
    """A screen to open windows on, and Kivy installed (the kiosk extra)."""
    screen = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    return bool(screen) and importlib.util.find_spec("kivy") is not None


def sample_cards(venue: Venue) -> list[dict[str, Any]]:
    """What the panel shows, in the order an autoplay taps them."""
    cards = venue.cards
    entries: list[dict[str, Any]] = [
        {"label": f"志愿者工作卡 (PIN {STAFF_PIN})\nvolunteer's staff card", "text": cards.staff, "autoplay": False}]
    for i, (name, qr) in enumerate(cards.residents):
        lost = i == cards.lost
        entries.append({"label": f"{name} 的学习卡{' (已挂失)' if lost else ''}\n"
                                 f"{name}'s learning card{' (reported lost)' if lost else ''}",
                        "text": qr, "autoplay": True})
    first_name, first_qr = cards.residents[0]
    entries += [
        {"label": f"{first_name} 再刷一次\n{first_name} taps again", "text": first_qr, "autoplay": True},
        {"label": "伪造的卡\na forged card", "text": venue.forged_qr(), "autoplay": True},
        {"label": "破损的二维码\na torn QR code", "text": TORN_QR, "autoplay": True},
    ]
    return entries


def window_env(venue: Venue, left: int, top: int = 0) -> dict[str, str]:
    """Kivy reads KCFG_<section>_<key> from the environment: where each window opens. Its
    settings and logs stay in the run's folder, not in the user's home."""
    return {"KCFG_GRAPHICS_POSITION": "custom", "KCFG_GRAPHICS_LEFT": str(left), "KCFG_GRAPHICS_TOP": str(top),
            "KIVY_NO_ARGS": "1", "KIVY_HOME": str(venue.folder / "kivy")}


def displayed_day(venue: Venue, autoplay: bool) -> dict[str, Any]:
    processes = venue.processes
    spec = venue.folder / "sample-cards.json"
    spec.write_text(json.dumps({"pin": STAFF_PIN, "cards": sample_cards(venue)}, ensure_ascii=False),
                    encoding="utf-8")
    ui = processes.learncard("kiosk-ui", [
        "kiosk", "--config", str(venue.kiosk_dir / "kiosk.toml"), "--set", f"control.socket={venue.socket}",
        "ui", "--windowed"], window_env(venue, 0))
    panel = processes.start("panel", [sys.executable, "-m", "learncard.demo.panel", str(spec), str(venue.socket),
                                      *(["--autoplay"] if autoplay else [])], window_env(venue, UI_SIZE[0] + GAP))
    print("  the touchscreen and a panel of sample cards are open: press a card to tap it.\n"
          + ("  the panel taps every card in turn, then the demo ends.\n" if autoplay else
             "  close either window (or press Ctrl-C here) to end the demo.\n"), flush=True)
    wait_while_open(ui, panel)
    for child in (panel, ui):
        processes.stop(child)
    return settle(venue)


def wait_while_open(*children: Child) -> None:
    try:
        while all(c.popen.poll() is None for c in children):
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("\n  Ctrl-C: ending the demo", flush=True)
