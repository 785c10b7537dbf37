"""`learncard gateway relay|deadletters|learners`: the relay's and the county's commands on
the gateway's store."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from gateway.relay import deadletter_rows, link_learner, mark_for_retry, progress_rows
from gateway.store import Store
from learncard import context


def open_store(ctx: click.Context) -> Store:
    return Store.open(context.get(ctx).load("gateway")["store"]["url"])


def show(ctx: click.Context, fetch: Any, as_json: bool, line: Any, empty: str) -> None:
    """Rows read from the store: as JSON, or one line each (``empty`` when there are none)."""
    store = open_store(ctx)
    try:
        rows = fetch(store)
    finally:
        store.close()
    show_rows(rows, as_json, line, empty)


def show_rows(rows: list[dict[str, Any]], as_json: bool, line: Any, empty: str) -> None:
    """Rows as JSON, or one line each (``empty`` when there are none)."""
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(line(row))
    if not rows:
        click.echo(empty)


@click.group("relay")
def relay() -> None:
    """The relay's progress per LRS endpoint, and sending the history to another LRS."""


@relay.command("progress")
@click.option("--json", "as_json", is_flag=True, help="Print it as JSON.")
@click.pass_context
def relay_progress(ctx: click.Context, as_json: bool) -> None:
    """Each endpoint's cursor (commit sequence) and how many records it is behind."""
    show(ctx, progress_rows, as_json, lambda row: f"{row['endpoint']}  cursor {row['cursor']}  behind {row['behind']}",
         "nothing relayed yet")


@relay.command("resend")
@click.option("--endpoint", required=True, help="The xAPI endpoint to send to, e.g. http://lrs2/xAPI.")
@click.option("--since", required=True, help="Records whose fact is at or after this time (ISO 8601; "
              "without an offset: China time).")
@click.option("--username", help="Basic-auth user (default: lrs.username).")
@click.option("--password", envvar="LEARNCARD_RESEND_PASSWORD", show_envvar=True,
              help="Basic-auth password (default: lrs.password).")
@click.option("--version", "xapi_version", help="X-Experience-API-Version (default: lrs.version).")
@click.pass_context
def relay_resend(ctx: click.Context, endpoint: str, since: str, username: str | None, password: str | None,
                 xapi_version: str | None) -> None:
    """Send the stored history since a date to an LRS (a new one, or one that lost data), in
    commit order, here and now. Its progress is kept apart from the running relay's: run the
    same command again after a failure and it goes on where it stopped. Statement ids come from
    record ids, so what the LRS holds already is not duplicated."""
    from gateway.errors import GatewayError
    from gateway.lrs import LrsClient, LrsUnavailable
    from gateway.relay import Relay

    cfg = context.get(ctx).load("gateway")
    lrs = cfg["lrs"]
    if not lrs["home_page"]:
        raise click.ClickException("lrs.home_page 未设置 / is not set: statements need the county home page")
    moment = _when(since)
    try:
        client = LrsClient(endpoint, username or lrs["username"], password or lrs["password"],
                           xapi_version or lrs["version"])
    except GatewayError as err:
        raise click.ClickException(str(err)) from err
    store = open_store(ctx)
    sender = Relay(store, client, lrs["home_page"], batch_size=lrs["batch_size"],
                   name=f"resend {client.endpoint} since {moment.isoformat() if moment else ''}", since=moment)
    try:
        while sender.step():
            pass
    except LrsUnavailable as err:
        raise click.ClickException(f"LRS 不可用，稍后重试同一命令会接着发送 / the LRS is unavailable ({err}); "
                                   "run the same command again to go on") from err
    finally:
        store.close()
    click.echo(f"{sender.stats.delivered} statement(s) delivered, {sender.stats.dead} dead letter(s) "
               f"to {client.endpoint}")
    if sender.stats.dead:
        ctx.exit(1)


@click.group("deadletters")
def deadletters() -> None:
    """Statements the LRS refused for good (a real conflict, or a 400), with its answer."""


@deadletters.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print them as JSON.")
@click.pass_context
def deadletters_list(ctx: click.Context, as_json: bool) -> None:
    """Every dead letter: endpoint, record id, the LRS's status and answer."""

    def line(row: dict[str, Any]) -> str:
        queued = "(retry queued) " if row["retry"] else ""
        return f"{row['endpoint']}  {row['record_id']}  HTTP {row['status']}  {queued}{row['answer'][:120]}"

    show(ctx, deadletter_rows, as_json, line, "no dead letters")


@deadletters.command("retry")
@click.argument("record_id", required=False)
@click.pass_context
def deadletters_retry(ctx: click.Context, record_id: str | None) -> None:
    """Queue one dead letter (or all) to be sent again by the running relay."""
    store = open_store(ctx)
    try:
        n = mark_for_retry(store, record_id)
    finally:
        store.close()
    click.echo(f"{n} dead letter(s) queued for another try")


@click.group("learners")
def learners() -> None:
    """The county's decisions about learners (temporary ids of walk-ins)."""


@learners.command("link")
@click.argument("temp")
@click.argument("code")
@click.pass_context
def learners_link(ctx: click.Context, temp: str, code: str) -> None:
    """Link a kiosk-minted temporary id (T…) to a real learner code: statements made from
    now on use the code (statements already sent keep the temporary id; see docs)."""
    store = open_store(ctx)
    try:
        link_learner(store, temp, code)
    except ValueError as err:
        raise click.ClickException(str(err)) from err
    finally:
        store.close()
    click.echo(f"{temp} → {code}")


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise click.BadParameter(f"{text!r} is not an ISO date or time") from err
    if moment.tzinfo is None:
        from zoneinfo import ZoneInfo

        moment = moment.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    return moment


def register(group: click.Group) -> None:
    group.add_command(relay)
    group.add_command(deadletters)
    group.add_command(learners)
