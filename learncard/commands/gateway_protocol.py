"""`learncard gateway refused|rejected|reload`: county IT's view of what the gateway did not
store, and the way to store it once the cause is fixed."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import defaultdict
from collections.abc import Callable

import click

from gateway.store import Store
from learncard import context
from learncard.commands.gateway_relay import show_rows


def _store(ctx: click.Context) -> Store:
    return Store.open(context.get(ctx).load("gateway")["store"]["url"])


def _when(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


@click.group("refused")
def refused() -> None:
    """Lines the gateway refused: not signed with the kiosk's registered key, another kiosk's,
    or a position no kiosk can hold. They took no chain position; kept for county IT."""


@refused.command("list")
@click.option("--kiosk", help="Only lines that came on this kiosk's topic.")
@click.option("--limit", default=100, show_default=True, help="The newest this many.")
@click.option("--json", "as_json", is_flag=True, help="Print them as JSON.")
@click.pass_context
def refused_list(ctx: click.Context, kiosk: str | None, limit: int, as_json: bool) -> None:
    """The newest refused lines: the connection's kiosk, position, reason, size, time."""
    store = _store(ctx)
    try:
        rows = store.refused_rows(kiosk, limit)
    finally:
        store.close()
    show_rows(rows, as_json, lambda r: f"{_when(r['refused_ms'])}  {r['kiosk']:<24} {r['epoch']}/{r['seq']:<10} "
                                   f"{r['reason']:<14} {r['bytes']} bytes", "no refused lines")


@click.group("rejected")
def rejected() -> None:
    """Records the kiosk signed that the gateway rejected and recorded (their position is settled)."""


def _rejected_filters(command: Callable[..., None]) -> Callable[..., None]:
    for option in (click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
                   click.option("--reason", help="Only this reason (e.g. revoked-kiosk, bad-schema, fork)."),
                   click.option("--kiosk", help="Only this kiosk's.")):
        command = option(command)
    return click.pass_context(command)


@rejected.command("list")
@_rejected_filters
def rejected_list(ctx: click.Context, kiosk: str | None, reason: str | None, as_json: bool) -> None:
    """Every rejected record: kiosk, position and reason."""
    store = _store(ctx)
    try:
        items = [{k: v for k, v in r.items() if k != "token"} for r in store.rejected_rows(kiosk, reason)]
    finally:
        store.close()
    show_rows(items, as_json, lambda i: f"{_when(i['rejected_ms'])}  {i['kiosk']:<24} {i['epoch']}/{i['seq']:<10} "
                                    f"{i['reason']}", "no rejected records")


@rejected.command("replay")
@_rejected_filters
def rejected_replay(ctx: click.Context, kiosk: str | None, reason: str | None, as_json: bool) -> None:
    """Ingest rejected records again through the gateway's own checks, with the county files
    as they are now (after a registry was reloaded or a key registered). Each ends stored,
    rejected again, or refused. Stored records reach the LRS through the relay."""
    from learncard.gateway_app import county_files, make_ingest

    cfg = context.get(ctx).load("gateway")
    store = Store.open(cfg["store"]["url"])
    try:
        ingest = make_ingest(cfg, store, county_files(cfg))
        by_kiosk: dict[str, list[str]] = defaultdict(list)
        for row in store.rejected_rows(kiosk, reason):
            by_kiosk[row["kiosk"]].append(row["token"])
        result: dict[str, dict[str, object]] = {}
        for k, tokens in by_kiosk.items():
            out = ingest.replay(k, tokens)
            result[k] = {"records": len(tokens), "stored": out.stored, "rejected": out.rejected,
                         "refused": out.refused, "error": out.error}
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    show_rows([{"kiosk": k, **r} for k, r in result.items()], False,
          lambda r: f"{r['kiosk']}: {r['records']} replayed, {r['stored']} stored, rejected {r['rejected'] or 'none'}, "
                    f"refused {r['refused'] or 'none'}" + (f", error {r['error']}" if r["error"] else ""),
          "no rejected records to replay")


@click.command("reload")
@click.pass_context
def reload(ctx: click.Context) -> None:
    """Make the running gateway re-read the county files now (it sends it SIGHUP; the gateway
    also notices changed files by itself within gateway.county_poll_seconds)."""
    from learncard import instance
    from learncard.gateway_app import lock_path

    path = lock_path(context.get(ctx).load("gateway"))
    try:
        free = instance.acquire(path)  # held by a running gateway: then it is not free
    except OSError:
        free = None
    if free is not None:
        free.release()
        raise click.ClickException(f"没有运行中的网关 / no gateway is running (its lock {path} is free)")
    try:
        pid = int(instance.holder(path))
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError) as err:
        raise click.ClickException(f"无法通知网关 / cannot signal the gateway named in {path}: {err}") from err
    click.echo(f"asked the gateway (pid {pid}) to reload the county files")


def register(group: click.Group) -> None:
    group.add_command(refused)
    group.add_command(rejected)
    group.add_command(reload)
