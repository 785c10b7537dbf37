"""`learncard gateway`: the county gateway."""

from __future__ import annotations

import json
import time

import click

from learncard import context
from learncard.commands.common import config_group


@click.group("gateway")
@context.config_options
def group() -> None:
    """The county gateway: ingest kiosk records over MQTT, verify, store, acknowledge."""


group.add_command(config_group("gateway"))


@group.command("run")
@click.pass_context
def run(ctx: click.Context) -> None:
    """Run the gateway until SIGTERM (SIGHUP reloads the county's signed files)."""
    from learncard import gateway_app

    app = gateway_app.build(context.get(ctx).load("gateway"))
    click.echo("gateway running", err=True)
    app.run()


def _skew(seconds: float | None) -> str:
    """The kiosk's clock minus the gateway's, as estimated from its last live status."""
    return "?" if seconds is None else f"{seconds:+.0f} s"


@group.command("kiosks")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
@click.pass_context
def kiosks(ctx: click.Context, as_json: bool) -> None:
    """The kiosk status table: last seen, pending records, oldest pending, clock state and skew."""
    from gateway.store import Store

    store = Store.open(context.get(ctx).load("gateway")["store"]["url"])
    try:
        rows = store.kiosk_table()
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    now = time.time() * 1000
    for row in rows:
        s = row["status"]
        seen = max(row["status_received_ms"], row["last_record_ms"])
        click.echo(f"{row['kiosk']:<24} {s.get('state', '?'):<8} last seen {int((now - seen) / 1000)} s ago  "
                   f"pending {s.get('pending', '?')} (oldest {s.get('oldest_pending_seconds', '?')} s)  "
                   f"clock {s.get('clock', '?')} skew {_skew(s.get('skew_seconds'))}"
                   + (f"  HELD: {s['gateway_hold']}" if s.get("gateway_hold") else "")
                   + (f"  refused on its topic: {s['refused_by_gateway']}" if s.get("refused_by_gateway") else ""))
    if not rows:
        click.echo("no kiosk has reported yet")
