"""`learncard gateway learner export|erase|consent` and `learncard gateway purge`: personal
data at the gateway (个人信息保护法). See docs/privacy.md."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from learncard import context
from learncard.commands.gateway_relay import _when, open_store


def _learner(code: str) -> str:
    from records.errors import RecordError
    from records.ids import format_learner_code, parse_learner_code

    try:
        return format_learner_code(parse_learner_code(code))
    except (ValueError, RecordError) as err:
        raise click.BadParameter(f"学习码不对 / {code!r} is not a learner code (13 digits, check digit last)") from err


def _issuer(path: Path) -> Any:
    from records import keys
    from records.errors import RecordError

    try:
        return keys.private_key_from_pem(path.read_bytes())
    except (OSError, RecordError) as err:
        raise click.ClickException(f"县级签发密钥无法读取 / the county issuer key {path} cannot be read: "
                                   f"{err}") from err


ISSUER = click.option("--issuer-key", type=click.Path(path_type=Path, dir_okay=False, exists=True), required=True,
                      help="The county issuer key (keys/issuer.key in the county home): signs the record.")


@click.group("learner")
def learner() -> None:
    """A resident's personal data: what is held (export), deletion (erase), consent."""


@learner.command("export")
@click.argument("code")
@click.option("--out", "out_file", type=click.Path(path_type=Path, dir_okay=False), help="Write here (JSON).")
@click.pass_context
def learner_export(ctx: click.Context, code: str, out_file: Path | None) -> None:
    """Everything the gateway holds about one learner, as JSON: records (decoded and as
    signed), consents, linked temporary ids, dead letters, an erasure if any."""
    from gateway.privacy import export_learner

    store = open_store(ctx)
    try:
        data = export_learner(store, _learner(code))
    finally:
        store.close()
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if out_file:
        out_file.write_text(text + "\n", encoding="utf-8")
        click.echo(f"{len(data['records'])} records written to {out_file}", err=True)
    else:
        click.echo(text)


@learner.command("erase")
@click.argument("code")
@ISSUER
@click.option("--reason", default="data subject request (个人信息删除请求)", show_default=True,
              help="Kept in the signed erasure record.")
@click.option("--no-lrs", is_flag=True, help="Do not void statements at the LRS (none was ever configured).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def learner_erase(ctx: click.Context, code: str, issuer_key: Path, reason: str, no_lrs: bool, as_json: bool) -> None:
    """Erase a learner: void their statements at the LRS, record a county-signed erasure, and
    leave them out of the relay, reports and exports from now on. The signed records stay
    (chains verify); remove the person from the card roster too (docs/privacy.md)."""
    from gateway.errors import GatewayError
    from gateway.lrs import LrsClient
    from gateway.privacy import erase

    cfg = context.get(ctx).load("gateway")
    lrs = cfg["lrs"]
    client = None
    if not no_lrs:
        if not lrs["endpoint"] or not lrs["home_page"]:
            raise click.ClickException("lrs.endpoint 与 lrs.home_page 未设置 / lrs.endpoint and lrs.home_page are "
                                       "needed to void statements (or --no-lrs if there never was an LRS)")
        client = LrsClient(lrs["endpoint"], lrs["username"], lrs["password"], lrs["version"])
    store = open_store(ctx)
    try:
        result = erase(store, cfg["gateway"]["county"], _issuer(issuer_key), _learner(code), client,
                       lrs["home_page"], reason, datetime.now(UTC))
    except GatewayError as err:
        raise click.ClickException(f"删除未完成，可重试 / erasure not done, run it again: {err}") from err
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo(f"learner erased: {result['records']} records left out from now on, "
                   f"{result['voided']} of {result['statements']} statements voided at the LRS")


@learner.command("consent")
@click.argument("code")
@ISSUER
@click.option("--minor", is_flag=True, help="The learner is under the county's privacy.guardian_age (14 unless "
              "the county set another): a guardian's consent is required.")
@click.option("--guardian-consent", is_flag=True, help="The guardian consented (for a minor).")
@click.option("--how", type=click.Choice(["registration", "walk-in"]), default="registration", show_default=True,
              help="Where the resident consented.")
@click.pass_context
def learner_consent(ctx: click.Context, code: str, issuer_key: Path, minor: bool, guardian_consent: bool,
                    how: str) -> None:
    """Record a resident's consent (county-signed): what is collected, for what, how long
    (privacy.retention_days), under which notice (privacy.notice)."""
    from gateway.privacy import PrivacyError, parse_retention, record_consent

    cfg = context.get(ctx).load("gateway")
    store = open_store(ctx)
    try:
        retention = parse_retention(cfg["privacy"]["retention_days"])
        record_consent(store, cfg["gateway"]["county"], _issuer(issuer_key), _learner(code),
                       notice=cfg["privacy"]["notice"], retention_days=retention,
                       minor=minor, guardian_consent=guardian_consent, how=how, now=datetime.now(UTC),
                       guardian_age=cfg["privacy"]["guardian_age"])
    except PrivacyError as err:
        raise click.ClickException(str(err)) from err
    finally:
        store.close()
    click.echo("consent recorded")


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Only count what would be purged.")
@click.option("--now", "now_text", help="Count retention from this time instead of now (ISO 8601).")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
def purge_command(ctx: click.Context, dry_run: bool, now_text: str | None, as_json: bool) -> None:
    """Delete records older than their type's retention (privacy.retention_days), keeping a
    tombstone of each (chain position, hash, prev); rebuild exports afterwards."""
    from gateway.privacy import PrivacyError, parse_retention, purge

    cfg = context.get(ctx).load("gateway")
    try:
        retention = parse_retention(cfg["privacy"]["retention_days"])
    except PrivacyError as err:
        raise click.ClickException(str(err)) from err
    store = open_store(ctx)
    try:
        counts = purge(store, retention, _when(now_text) or datetime.now(UTC), dry_run)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(counts, indent=2))
        return
    for record_type, n in counts.items():
        click.echo(f"{record_type:<22} {n} {'would be ' if dry_run else ''}purged")
    if not counts:
        click.echo("privacy.retention_days is empty: nothing is ever purged")


def register(group: click.Group) -> None:
    group.add_command(learner)
    group.add_command(purge_command)
