"""`learncard demo`: a whole venue in a box on this machine."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click

from learncard.demo.processes import DemoError, Processes
from learncard.demo.venue import run_venue, summary


@click.command("demo")
@click.option("--keep", type=click.Path(path_type=Path, file_okay=False),
              help="Keep the run's folder (county home, configs, journal, store, logs) here.")
def command(keep: Path | None) -> None:
    """Run a scripted day at a venue on free ports and print a summary (exit 0 when all went right).

    County IT provisions the county, a kiosk and the broker with the real commands;
    Mosquitto (mutual TLS, ACL), the gateway and the kiosk agent (simulated card reader)
    run as their own processes; a volunteer opens a session, residents tap cards and QR
    codes, refused cards get their answers, a walk-in is enrolled, a resident rates the
    session, the session closes with automatic check-outs — and every record reaches the
    gateway, verified, once.
    """
    folder = keep or Path(tempfile.mkdtemp(prefix="learncard-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    click.echo(f"LearnCard demo — a venue in a box (files in {folder})\n")
    try:
        with Processes(folder) as processes:
            outcome = run_venue(folder, processes)
        lines = summary(outcome)
    except DemoError as err:
        raise click.ClickException(f"demo failed: {err} (files kept in {folder})") from err
    click.echo("\nSummary")
    for line in lines:
        click.echo(f"  {line}")
    if keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    click.echo("\ndemo finished: OK")
