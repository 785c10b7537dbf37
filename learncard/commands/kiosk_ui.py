"""`learncard kiosk ui`: the touchscreen (a separate process from the agent)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from learncard import context


@click.command("ui")
@click.option("--windowed", is_flag=True, help="A window of ui.screen_pixels instead of full screen.")
@click.pass_context
def command(ctx: click.Context, windowed: bool) -> None:
    """Run the touchscreen: it shows the agent's taps and results and lets staff work;
    the agent records taps whether or not this runs."""
    cfg = context.get(ctx).load("kiosk")
    ui = cfg["ui"]
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    from kiosk.ui.theme import density

    scale = density(ui["screen_pixels"], ui["screen_inches"])
    if scale is not None:  # read by kivy.metrics on first use: set before Kivy starts
        os.environ["KIVY_METRICS_DENSITY"] = str(scale)
    from kivy.config import Config

    width, _, height = str(ui["screen_pixels"]).partition("x")
    Config.set("graphics", "width", width or "1280")
    Config.set("graphics", "height", height or "800")
    Config.set("graphics", "fullscreen", "0" if windowed or not ui["fullscreen"] else "auto")
    from kiosk.ui.app import KioskUi
    from kiosk.ui.speech import AplaySink

    KioskUi(Path(cfg["control"]["socket"]), language=ui["language"], font=ui["font"], speech=ui["speech"],
            sink=AplaySink(ui["audio_device"]), result_seconds=ui["result_seconds"],
            rating_seconds=ui["rating_seconds"], reader_position=ui["reader_position"],
            audio_file=Path(ui["audio_settings"]) if ui["audio_settings"] else None).run()
