"""`learncard kiosk enroll-request`: the kiosk's side of enrolment."""

from __future__ import annotations

from pathlib import Path

import click

from provisioning import enroll


@click.command("enroll-request")
@click.option("--kiosk", required=True, help="This kiosk's id, [a-z0-9-]{3,40}.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=".",
              show_default=True, help="Folder for the keys (they stay here) and the request.")
def command(kiosk: str, out_dir: Path) -> None:
    """Make this kiosk's signing and TLS keys (0600, they never leave the kiosk) and an
    enrolment request for county IT: a file, and a QR code to show on the screen."""
    path = enroll.make_request(out_dir, kiosk)
    qr = out_dir / "enroll-request.png"
    qr.write_bytes(enroll.request_qr_png(path.read_text()))
    click.echo(f"enrolment request: {path}\n  as a QR code: {qr}\n"
               f"  give it to county IT: learncard provision enroll --request {path.name} …")
