"""`learncard provision gateways add|list|revoke`: one broker identity per gateway process."""

from __future__ import annotations

from pathlib import Path

import click

from learncard.commands.provision import open_home, out
from learncard.commands.provision_consumers import AS_JSON, BROKER_PID, _reload
from learncard.config import to_toml
from provisioning import broker, gateways
from provisioning.files import write_atomic

RELOAD_HINT = "\n  reload the broker (SIGHUP) so the new ACL holds"


@click.group("gateways")
def group() -> None:
    """Gateway processes on the broker: one certificate each (CN gateway or gateway-<name>)."""


@group.command("add")
@click.argument("identity")
@click.option("--broker-host", help="The broker's host in the new gateway.toml (default: as in gateway/gateway.toml).")
@click.option("--broker-port", type=int, help="The broker's TLS port (default: as in gateway/gateway.toml).")
@BROKER_PID
@AS_JSON
@click.pass_context
def add(ctx: click.Context, identity: str, broker_host: str | None, broker_port: int | None,
        broker_pid: Path | None, as_json: bool) -> None:
    """Issue IDENTITY's certificate (e.g. gateway-2) from the device CA, with its key (0600)
    and gateway/IDENTITY.toml (gateway/gateway.toml with this identity), and give it the
    gateway's rights in the broker's ACL."""
    home = open_home(ctx)
    entry, values = gateways.add(home, identity, broker_host, broker_port)
    write_atomic(Path(entry["config"]), f"# written by `learncard provision gateways add {identity}`\n"
                 + to_toml(values))
    acl = broker.refresh_acl(home)
    reloaded = _reload(broker_pid)
    out({**entry, "acl": str(acl) if acl else None, "broker_reloaded": reloaded}, as_json,
        f"gateway identity {identity} added; run `learncard gateway --config {entry['config']} run`"
        + ("" if reloaded else RELOAD_HINT))


@group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.pass_context
def listing(ctx: click.Context, as_json: bool) -> None:
    """Every gateway identity: status, certificate serial, expires."""
    rows = gateways.listing(open_home(ctx))
    out(rows, as_json, "\n".join(f"{e['cn']:<32} {e['status']:<8} serial {e.get('serial', '-')}  "
                                 f"expires {e.get('expires', '-')}" for e in rows.values()))


@group.command("revoke")
@click.argument("identity")
@click.option("--reason", default="revoked by county IT", show_default=True, help="Kept in the list.")
@BROKER_PID
@AS_JSON
@click.pass_context
def revoke(ctx: click.Context, identity: str, reason: str, broker_pid: Path | None, as_json: bool) -> None:
    """Revoke a gateway identity: the broker's ACL loses its entry, so it can neither read
    nor write. Its name is never issued again."""
    home = open_home(ctx)
    entry = gateways.revoke(home, identity, reason)
    acl = broker.refresh_acl(home)
    reloaded = _reload(broker_pid)
    out({**entry, "acl": str(acl) if acl else None, "broker_reloaded": reloaded}, as_json,
        f"gateway identity {identity} revoked" + ("" if reloaded else RELOAD_HINT))
