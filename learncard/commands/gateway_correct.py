"""`learncard gateway correct void|amend|list`: the county's signed corrections."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from learncard import context
from learncard.commands.gateway_relay import open_store, show_rows
from learncard.commands.gateway_reports import county_files
from records.corrections import REASONS

REASON_HELP = "Why: " + ", ".join(f"{k} ({zh})" for k, (zh, _en) in REASONS.items())


def _signer_and_files(ctx: click.Context) -> tuple[Any, Any]:
    from gateway.corrections import CorrectionError, CountySigner

    cfg = context.get(ctx).load("gateway")
    files = county_files(cfg)
    key_file = Path(cfg["gateway"]["corrections_key"])
    try:
        pem = key_file.read_bytes()
    except OSError as err:
        raise click.ClickException(f"县级更正密钥无法读取 / cannot read gateway.corrections_key {key_file}: "
                                   f"{err.strerror} (make it with `learncard provision signer`)") from err
    try:
        return CountySigner.load(pem, files.registry()), files
    except CorrectionError as err:
        raise click.ClickException(str(err)) from err


def _correct(ctx: click.Context, record_id: str, action: str, reason: str, note: str | None,
             amended: dict[str, Any] | None, as_json: bool) -> None:
    from gateway.corrections import CorrectionError, correct
    from gateway.ingest import Ingest
    from kiosk.clock import boot_id, kernel_synchronized

    signer, files = _signer_and_files(ctx)
    store = open_store(ctx)
    try:
        rec = correct(store, Ingest(store, files, lambda: datetime.now(UTC)), signer, record_id, action=action,
                      reason=reason, note=note, amended=amended, now=datetime.now(UTC).astimezone(),
                      bootid=boot_id(), clock="ntp" if kernel_synchronized() else "rtc")
    except CorrectionError as err:
        raise click.ClickException(str(err)) from err
    finally:
        store.close()
    result = {"correction": rec.id, "signer": rec.kiosk, "epoch": rec.epoch, "seq": rec.seq, **rec.data}
    click.echo(json.dumps(result, ensure_ascii=False, indent=2) if as_json else
               f"{action} of {rec.data['target']} recorded as {rec.id} ({rec.kiosk} {rec.epoch}/{rec.seq}); "
               "the running relay sends it to the LRS")


@click.group("correct")
def correct_group() -> None:
    """County IT: void or amend any record with a correction signed by the county's corrections
    key, chained and stored like any record (the original is never changed or deleted)."""


_reason = click.option("--reason", required=True, type=click.Choice(list(REASONS)), help=REASON_HELP)
_note = click.option("--note", help="Free text kept in the correction (≤ 200 characters, no names).")
_json = click.option("--json", "as_json", is_flag=True, help="Print the correction as JSON.")


@correct_group.command("void")
@click.argument("record_id")
@_reason
@_note
@_json
@click.pass_context
def void(ctx: click.Context, record_id: str, reason: str, note: str | None, as_json: bool) -> None:
    """Void RECORD_ID: the relay sends an xAPI voiding statement; reports and exports leave it out
    (a voided check-in takes its check-out with it)."""
    _correct(ctx, record_id, "void", reason, note, None, as_json)


@correct_group.command("amend")
@click.argument("record_id")
@_reason
@click.option("--minutes", type=click.IntRange(0, 1440), help="The minutes that should have been credited.")
@click.option("--learner", help="The learner code (13 digits) it should have been recorded for.")
@click.option("--session", "session_id", help="The session id it belongs to ('none': self-study).")
@_note
@_json
@click.pass_context
def amend(ctx: click.Context, record_id: str, reason: str, minutes: int | None, learner: str | None,
          session_id: str | None, note: str | None, as_json: bool) -> None:
    """Amend RECORD_ID (a check-out, manual attendance, registration or rating): the relay voids
    its statement and sends the corrected one."""
    from records.ids import format_learner_code, parse_learner_code

    amended: dict[str, Any] = {}
    if minutes is not None:
        amended["minutes_credited"] = minutes
    if learner is not None:
        try:
            amended["learner"] = format_learner_code(parse_learner_code(learner))
        except ValueError as err:
            raise click.BadParameter(f"学员号有误 / {learner!r}: {err}", param_hint="--learner") from err
    if session_id is not None:
        amended["session_id"] = None if session_id == "none" else session_id
    if not amended:
        raise click.UsageError("nothing to amend: give --minutes, --learner or --session")
    _correct(ctx, record_id, "amend", reason, note, amended, as_json)


@correct_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print them as JSON.")
@click.pass_context
def listing(ctx: click.Context, as_json: bool) -> None:
    """Every correction in the store: what it targets, who signed it, and whether it holds."""
    from gateway.corrections import load_ledger
    from records.record import parse_unverified

    files = county_files(context.get(ctx).load("gateway"))
    store = open_store(ctx)
    try:
        book = load_ledger(store, files.registry().purpose_of)
        rows = []
        for (token,) in store.query("SELECT token FROM records WHERE type = 'correction' ORDER BY rowid_"):
            rec = parse_unverified(token)
            rows.append({"correction": rec.id, "signer": rec.kiosk, "time": rec.event["time"], **rec.data,
                         "effect": "none: " + book.refused[rec.id] if rec.id in book.refused else rec.data["action"]})
    finally:
        store.close()
    show_rows(rows, as_json, lambda row: f"{row['time']}  {row['signer']:<20} {row['action']:<6} {row['target']}  "
              f"{row['reason']}  ({row['effect']})", "no corrections")


@click.command("pair")
@click.option("--json", "as_json", is_flag=True, help="Print the pairings made as JSON.")
@click.pass_context
def pair(ctx: click.Context, as_json: bool) -> None:
    """Pair unpaired check-outs (made at a kiosk that could not see its venue's other kiosks) with
    their check-ins, as county corrections; the running gateway does this every
    gateway.pair_every_seconds when it holds the corrections key."""
    from gateway.corrections import CorrectionError
    from gateway.ingest import Ingest
    from gateway.pairing import pair_unpaired
    from kiosk.clock import boot_id, kernel_synchronized

    signer, files = _signer_and_files(ctx)
    store = open_store(ctx)
    try:
        made = pair_unpaired(store, Ingest(store, files, lambda: datetime.now(UTC)), signer,
                             files.registry().purpose_of, now=lambda: datetime.now(UTC).astimezone(),
                             bootid=boot_id(), clock="ntp" if kernel_synchronized() else "rtc")
    except CorrectionError as err:
        raise click.ClickException(str(err)) from err
    finally:
        store.close()
    rows = [{"correction": r.id, "checkout": r.data["target"], **r.data["amended"]} for r in made]
    show_rows(rows, as_json, lambda row: f"{row['checkout']} paired with {row['checkin_id']} at "
              f"{row['checkin_kiosk']}: {row['minutes_credited']} min", "no check-out to pair")


def register(group: click.Group) -> None:
    group.add_command(correct_group)
    group.add_command(pair)
