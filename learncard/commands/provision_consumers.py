"""`learncard provision consumers add|list|revoke`: county systems on the broker; and
`learncard provision venues place|list`: the venue tree for statistics."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import click

from learncard.commands.provision import open_home, out
from provisioning import broker, consumers, venues


@click.group("consumers")
def group() -> None:
    """County systems that read the verified stream and the registry (CN consumer-<name>)."""


BROKER_PID = click.option("--broker-pid", type=click.Path(path_type=Path, dir_okay=False),
                          help="Mosquitto's pid file: send it SIGHUP so the new ACL holds at once.")
AS_JSON = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


def _reload(pid_file: Path | None) -> bool:
    if pid_file is None:
        return False
    os.kill(int(pid_file.read_text().strip()), signal.SIGHUP)
    return True


@group.command("add")
@click.argument("name")
@click.option("--request", "csr_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="The consumer's PEM certificate request (CN consumer-NAME); without it a key is made here.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Folder for consumer.pem (and consumer.key), device-ca.pem (default: <home>/consumers/NAME).")
@BROKER_PID
@AS_JSON
@click.pass_context
def add(ctx: click.Context, name: str, csr_file: Path | None, out_dir: Path | None, broker_pid: Path | None,
        as_json: bool) -> None:
    """Issue a consumer certificate (CN consumer-NAME) and let it read lc/v1/verified/#,
    lc/v1/county/registry and lc/v1/+/status."""
    home = open_home(ctx)
    folder = out_dir or home.path_of(f"consumers/{name}")
    entry = consumers.add(home, name, folder, csr_file.read_bytes() if csr_file else None)
    acl = broker.refresh_acl(home)
    reloaded = _reload(broker_pid)
    out({**entry, "acl": str(acl) if acl else None, "broker_reloaded": reloaded}, as_json,
        f"consumer {entry['cn']} added; certificate {folder / 'consumer.pem'}"
        + ("" if reloaded else "\n  reload the broker (SIGHUP) so the new ACL holds"))


@group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_context
def listing(ctx: click.Context, as_json: bool) -> None:
    """Every consumer: status, certificate serial, issued, expires."""
    rows = consumers.listing(open_home(ctx))
    out(rows, as_json, "\n".join(f"{e['cn']:<32} {e['status']:<8} serial {e['serial']}  expires {e['expires']}"
                                 for e in rows.values()) or "no consumers")


@group.command("revoke")
@click.argument("name")
@click.option("--reason", default="revoked by county IT", show_default=True, help="Kept in the list.")
@BROKER_PID
@AS_JSON
@click.pass_context
def revoke(ctx: click.Context, name: str, reason: str, broker_pid: Path | None, as_json: bool) -> None:
    """Revoke a consumer: the broker's ACL loses its entry, so it can read nothing."""
    home = open_home(ctx)
    entry = consumers.revoke(home, name, reason)
    acl = broker.refresh_acl(home)
    reloaded = _reload(broker_pid)
    out({**entry, "acl": str(acl) if acl else None, "broker_reloaded": reloaded}, as_json,
        f"consumer {entry['cn']} revoked" + ("" if reloaded else "\n  reload the broker (SIGHUP) so the new ACL holds"))


@click.group("venues")
def venues_group() -> None:
    """The venue tree for statistics: which township (乡镇/街道) each venue belongs to."""


@venues_group.command("place")
@click.argument("venue")
@click.option("--township", required=True, help="Township code, [a-z0-9-]{3,40}.")
@click.option("--township-name", default="", help="The township's name, e.g. 城关镇.")
@AS_JSON
@click.pass_context
def venues_place(ctx: click.Context, venue: str, township: str, township_name: str, as_json: bool) -> None:
    """Put a venue under a township (a new signed registry version; reload the gateway)."""
    doc = venues.place(open_home(ctx), venue, township, township_name)
    out({"venue": venue, "township": township, "registry_version": doc.version}, as_json,
        f"venue {venue} is in township {township}; registry version {doc.version}")


@venues_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the tree as JSON.")
@click.pass_context
def venues_list(ctx: click.Context, as_json: bool) -> None:
    """Every venue with its name, level and township."""
    rows = venues.tree(open_home(ctx))
    out(rows, as_json, "\n".join(f"{r['township'] or '-':<20} {r['venue']:<20} {r['level'] or '':<17} {r['name']}"
                                 for r in rows) or "no venues")
