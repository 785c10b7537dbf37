"""`learncard kiosk renew-request` and `learncard provision renew`: a new TLS certificate for
a kiosk, for the keys it already has (see :mod:`provisioning.renew`)."""

from __future__ import annotations

from pathlib import Path

import click

from learncard import context
from learncard.config import to_toml
from provisioning import enroll, renew
from provisioning.files import write_atomic


@click.command("renew-request")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=".",
              show_default=True, help="Folder for renew-request.jws (e.g. a USB stick).")
@click.pass_context
def renew_request_command(ctx: click.Context, out_dir: Path) -> None:
    """Ask county IT for a new TLS certificate before this one expires: a request signed with
    this kiosk's enrolled key, for the TLS key it already has (no key changes)."""
    from kiosk.signer import load_key

    cfg = context.get(ctx).load("kiosk")
    tls_key = Path(cfg["uplink"]["key_file"])
    try:
        pem = tls_key.read_bytes()
    except OSError as err:
        raise click.ClickException(f"cannot read the TLS key {tls_key}: {err.strerror}") from err
    path = renew.make_request(out_dir, cfg["kiosk"]["id"], load_key(Path(cfg["kiosk"]["key_path"])), pem)
    click.echo(f"renewal request: {path}\n  give it to county IT: learncard provision renew --request {path.name}")


@click.command("renew")
@click.option("--request", "request_file", required=True, type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="The kiosk's renew-request.jws.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Where to write the kiosk's new bundle (default: <home>/kiosks/<kiosk>).")
@click.option("--broker-host", default="localhost", show_default=True, help="The broker as kiosks reach it.")
@click.option("--broker-port", type=int, default=8883, show_default=True, help="The broker's TLS port.")
@click.pass_context
def renew_command(ctx: click.Context, request_file: Path, out_dir: Path | None, broker_host: str,
                  broker_port: int) -> None:
    """Sign a new TLS certificate for an enrolled, active kiosk whose request is signed with
    its registered key, and write its new bundle (for `learncard kiosk install-bundle`)."""
    from learncard.commands.provision import open_home

    home = open_home(ctx)
    request = enroll.read_request(request_file.read_text())
    bundle = out_dir or home.path_of(f"kiosks/{request.kiosk}")
    values = renew.renew(home, request, bundle, broker_host, broker_port)
    write_atomic(bundle / "kiosk.toml", "# written by `learncard provision renew`\n" + to_toml(values))
    click.echo(f"kiosk {request.kiosk}: new certificate in {bundle}\n"
               "  on the kiosk: learncard kiosk install-bundle BUNDLE, then systemctl restart learncard-agent")


def register(kiosk_group: click.Group, provision_group: click.Group) -> None:
    kiosk_group.add_command(renew_request_command)
    provision_group.add_command(renew_command)
