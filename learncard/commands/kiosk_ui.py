"""`learncard kiosk ui`: the touchscreen (a separate process from the agent)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from learncard import context


@click.command("ui")
@click.option("--windowed", is_flag=True, help="A 1280×800 window instead of full screen.")
@click.pass_context
def command(ctx: click.Context, windowed: bool) -> None:
    """Run the touchscreen: it shows the agent's taps and results and lets staff work;
    the agent records taps whether or not this runs."""
    cfg = context.get(ctx).load("kiosk")
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    from kivy.config import Config

    Config.set("graphics", "width", "1280")
    Config.set("graphics", "height", "800")
    Config.set("graphics", "fullscreen", "0" if windowed or not cfg["ui"]["fullscreen"] else "auto")
    from kiosk.ui.app import KioskUi

    ui = cfg["ui"]
    KioskUi(Path(cfg["control"]["socket"]), language=ui["language"], font=ui["font"], speech=ui["speech"]).run()
