"""`learncard kiosk export`, `learncard gateway import`, `learncard kiosk import-receipt`:
records carried on a USB stick (see :mod:`learncard.sneakernet`)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import click

from learncard import context
from learncard import sneakernet as stick


def _fail(err: stick.StickError) -> click.ClickException:
    return click.ClickException(str(err))


def _journal(ctx: click.Context) -> tuple[Any, dict[str, Any]]:
    from kiosk.journal import Journal
    from learncard.kiosk_app import state_path

    cfg = context.get(ctx).load("kiosk")
    journal = Journal.open(state_path(cfg, cfg["journal"]["path"]), max_bytes=cfg["journal"]["max_bytes"])
    return journal, cfg


@click.command("export")
@click.option("--to", "folder", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="The folder to write into, e.g. the USB stick's /media/usb.")
@click.pass_context
def export_command(ctx: click.Context, folder: Path) -> None:
    """Write every record still waiting for the gateway (signed and chained) and this kiosk's
    status to one file on a USB stick, for county IT to import (no network needed)."""
    journal, cfg = _journal(ctx)
    try:
        tokens = [p.token for p in journal.pending(limit=10**9)]
        stats = journal.stats()
    finally:
        journal.close()
    status = {"state": "offline", "pending": stats.pending, "oldest_pending_ms": stats.oldest_pending_ms,
              "epoch": stats.epoch, "seq": stats.seq, "journal_bytes": stats.bytes, "journal_full": stats.full,
              "venue": cfg["kiosk"]["venue"], "via": "usb"}
    try:
        path = stick.write_export(folder, cfg["county"]["id"], cfg["kiosk"]["id"], tokens, status)
    except stick.StickError as err:
        raise _fail(err) from err
    except OSError as err:
        raise click.ClickException(f"写入U盘失败 / cannot write to {folder}: {err.strerror}") from err
    click.echo(f"已导出 {len(tokens)} 条记录 / {len(tokens)} records exported to {path}\n"
               "  they stay in this kiosk until the receipt comes back: learncard kiosk import-receipt FILE")


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--receipt-to", type=click.Path(path_type=Path, file_okay=False),
              help="Where to write the receipt (default: beside FILE, on the stick).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def import_command(ctx: click.Context, file: Path, receipt_to: Path | None, as_json: bool) -> None:
    """Import a kiosk's export from a USB stick: every record verified and stored exactly as
    over MQTT (once each; the same stick twice stores nothing new), and a receipt file
    written for the kiosk (carry it back: learncard kiosk import-receipt)."""
    from gateway.store import Store
    from learncard.gateway_app import county_files, make_ingest

    cfg = context.get(ctx).load("gateway")
    try:
        export = stick.read_export(file)
    except stick.StickError as err:
        raise _fail(err) from err
    if export.county != cfg["gateway"]["county"]:
        raise click.ClickException(
            f"这是 {export.county} 的U盘，不是本县的 / this stick is from county {export.county}, not "
            f"{cfg['gateway']['county']}: nothing was stored; give it back to that county")
    store = Store.open(cfg["store"]["url"])
    ingest = make_ingest(cfg, store, county_files(cfg))
    receipts: list[dict[str, Any]] = []
    totals: Counter[str] = Counter()
    errors: list[str] = []
    try:
        for payload in stick.batches(export.tokens):
            out = ingest.handle(export.kiosk, payload)
            if out.error is not None:
                errors.append(out.error)
                continue
            receipts += out.receipts
            totals.update({"stored": out.stored, "duplicates": out.duplicates, "flagged": out.flagged,
                           **{f"rejected {r}": n for r, n in out.rejected.items()}})
        if export.status:
            store.set_status(export.kiosk, export.status)
    finally:
        store.close()
    summary = {"records": len(export.tokens), **totals, "errors": errors}
    try:
        receipt = stick.write_receipt(export, receipts, summary, receipt_to)
    except OSError as err:
        raise click.ClickException(f"cannot write the receipt: {err.strerror}; import again to write it") from err
    summary["receipt"] = str(receipt)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    click.echo(f"{export.kiosk}: {len(export.tokens)} records, {totals['stored']} stored, "
               f"{totals['duplicates']} already stored"
               + "".join(f", {n} {k}" for k, n in totals.items() if k.startswith("rejected"))
               + (f"; messages refused: {', '.join(errors)}" if errors else "")
               + f"\n  receipt for the kiosk: {receipt}")


@click.command("import-receipt")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.pass_context
def import_receipt_command(ctx: click.Context, file: Path) -> None:
    """Settle this kiosk's outbox with a receipt the gateway wrote for a USB-stick export
    (the same check as a receipt over MQTT: only records the gateway holds are settled)."""
    from kiosk.errors import ReceiptMismatch

    journal, cfg = _journal(ctx)
    settled, mismatched = 0, 0
    try:
        try:
            receipts = stick.read_receipt(file, cfg["kiosk"]["id"])
        except stick.StickError as err:
            raise _fail(err) from err
        for receipt in receipts:
            if "error" in receipt:
                continue
            rejected = [(int(r["seq"]), str(r["reason"])) for r in receipt.get("rejected", [])]
            try:
                settled += journal.settle(int(receipt["epoch"]), int(receipt["upto"]), str(receipt.get("head", "")),
                                          rejected)
            except ReceiptMismatch:
                mismatched += 1
        pending = journal.stats().pending
    finally:
        journal.close()
    if mismatched:
        raise click.ClickException(
            f"回执与本机记录不符，未确认 / {mismatched} receipts do not match this kiosk's journal: nothing "
            f"of theirs was settled ({settled} settled by the others); {pending} records still pending")
    click.echo(f"已确认 {settled} 条 / {settled} records settled"
               + ("" if settled else " (this receipt was already applied)")
               + f"; {pending} still pending")



def register(kiosk_group: click.Group, gateway_group: click.Group) -> None:
    kiosk_group.add_command(export_command)
    kiosk_group.add_command(import_receipt_command)
    gateway_group.add_command(import_command)
