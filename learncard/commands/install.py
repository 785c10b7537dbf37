"""`learncard install` and `learncard uninstall`: a machine becomes a kiosk or a gateway."""

from __future__ import annotations

from pathlib import Path

import click

from learncard import install as installer


@click.command("install")
@click.argument("role", type=click.Choice(installer.ROLES))
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default="/", show_default=True,
              help="Install under this folder instead of / (images, tests).")
@click.option("--wheelhouse", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Install the wheels from this folder only (offline; e.g. from a USB stick).")
@click.option("--develop", is_flag=True, help="Lab/CI: /opt/learncard/bin/learncard runs this Python and checkout.")
@click.option("--broker-port", type=int, default=8883, show_default=True,
              help="Gateway: the TLS port of Mosquitto's LearnCard listener.")
def install_command(role: str, root: Path, wheelhouse: Path | None, develop: bool, broker_port: int) -> None:
    """Set this machine up as a kiosk or a county gateway (run as root; safe to run again):
    users and groups, /etc/learncard, /var/lib/learncard, /opt/learncard, the systemd units
    (enabled), udev rules for readers, and on a gateway Mosquitto's conf.d snippet."""
    try:
        steps = installer.install(role, root, develop=develop, wheelhouse=wheelhouse, broker_port=broker_port)
    except installer.InstallError as err:
        raise click.ClickException(f"安装失败 / install failed: {err}") from err
    for step in steps:
        click.echo(step)
    follow = ("learncard kiosk install-bundle BUNDLE (from `learncard provision enroll`), then "
              "systemctl start learncard-agent learncard-ui" if role == "kiosk" else
              "copy gateway.toml and the county files into /etc/learncard and the broker's files into "
              "/etc/mosquitto/learncard, then systemctl restart mosquitto; systemctl start learncard-gateway")
    click.echo(f"下一步 / next: {follow}")


@click.command("uninstall")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default="/", show_default=True,
              help="The folder that install used.")
def uninstall_command(root: Path) -> None:
    """Remove the program, units, udev rules and snippets; keep settings, keys, the journal
    and the store (/etc/learncard, /var/lib/learncard) and the users that own them."""
    try:
        steps = installer.uninstall(root)
    except installer.InstallError as err:
        raise click.ClickException(f"卸载失败 / uninstall failed: {err}") from err
    for step in steps:
        click.echo(step)


@click.command("install-bundle")
@click.argument("bundle", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default="/", show_default=True,
              help="Place the files under this folder instead of / (images, tests).")
def install_bundle_command(bundle: Path, root: Path) -> None:
    """Place this kiosk's enrolment bundle (from `learncard provision enroll`) where the units
    look: /etc/learncard/kiosk.toml with absolute paths, the certificates, the keys in
    /var/lib/learncard (0600), after checking the keys are the ones enrolled."""
    from learncard.bundle import install_bundle

    try:
        steps = install_bundle(bundle, root)
    except installer.InstallError as err:
        raise click.ClickException(f"配置包未安装 / bundle not installed: {err}") from err
    for step in steps:
        click.echo(step)
    click.echo("下一步 / next: systemctl restart learncard-agent learncard-ui")
