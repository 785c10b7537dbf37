"""`learncard demo`: a whole venue in a box on this machine."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click

from learncard.demo.display import display_available, displayed_day
from learncard.demo.processes import DemoError, Processes
from learncard.demo.venue import open_venue, scripted_day, summary


@click.command("demo")
@click.option("--keep", type=click.Path(path_type=Path, file_okay=False),
              help="Keep the run's folder (county home, configs, journal, store, logs) here.")
@click.option("--display/--headless", "display", default=None,
              help="Open the touchscreen beside a panel of sample cards to tap (default: when there is a "
                   "screen and Kivy is installed), or run the scripted day without windows.")
@click.option("--autoplay", is_flag=True, help="With --display: the panel taps every sample card in turn, then "
                                               "the demo ends.")
def command(keep: Path | None, display: bool | None, autoplay: bool) -> None:
    """Run a venue on free ports and print a summary (exit 0 when all went right).

    County IT provisions the county, a kiosk and the broker with the real commands;
    Mosquitto (mutual TLS, ACL), the gateway and the kiosk agent (simulated card reader)
    run as their own processes; a volunteer opens a session, residents tap cards and QR
    codes, refused cards get their answers, a walk-in is enrolled, a resident rates the
    session, the session closes with automatic check-outs — and every record reaches the
    gateway, verified, once. With a display, the touchscreen opens beside a panel of
    sample cards instead, and you tap them yourself.
    """
    if display is None:
        display = display_available()
    elif display and not display_available():
        raise click.UsageError("--display: no screen (DISPLAY/WAYLAND_DISPLAY) or Kivy is not installed")
    folder = keep or Path(tempfile.mkdtemp(prefix="learncard-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    click.echo(f"LearnCard demo — a venue in a box (files in {folder})\n")
    try:
        with Processes(folder) as processes, open_venue(folder, processes) as venue:
            outcome = displayed_day(venue, autoplay) if display else scripted_day(venue)
        lines = summary(outcome)
    except DemoError as err:
        raise click.ClickException(f"demo failed: {err} (files kept in {folder})") from err
    click.echo("\nSummary")
    for line in lines:
        click.echo(f"  {line}")
    if keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    click.echo("\ndemo finished: OK")
