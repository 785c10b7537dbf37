"""`learncard gateway review`: records held as implausible (gateway/plausibility.py) — list
them, accept one (released to the relay, reports and exports) or void it (kept, never used)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from gateway.store import ACCEPTED, HELD, VOID
from learncard.commands.gateway_relay import open_store


@click.group("review")
def review() -> None:
    """Records held for review: signed and stored, but implausible (wrong venue, unknown staff,
    too many minutes, a check-out without its check-in)."""


@review.command("list")
@click.option("--all", "everything", is_flag=True, help="Also records already accepted or voided.")
@click.option("--json", "as_json", is_flag=True, help="Print them as JSON.")
@click.pass_context
def review_list(ctx: click.Context, everything: bool, as_json: bool) -> None:
    """Held records: id, kiosk, venue, type, time and why each was held."""
    store = open_store(ctx)
    try:
        rows = store.held_records(None if everything else HELD)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([{k: v for k, v in r.items() if k != "token"} for r in rows],
                              ensure_ascii=False, indent=2))
        return
    for r in rows:
        held = datetime.fromtimestamp(r["held_ms"] / 1000, UTC).isoformat(timespec="seconds")
        click.echo(f"{r['record_id']}  {r['state']:<8} {r['kiosk']} {r['venue']} {r['type']} {r['time']}  "
                   f"held {held}: {r['reasons']}" + (f"  ({r['note']})" if r["note"] else ""))
    if not rows:
        click.echo("nothing held for review")


def _decide(ctx: click.Context, record_id: str, state: str, note: str) -> None:
    store = open_store(ctx)
    try:
        done = store.decide(record_id, state, note)
    finally:
        store.close()
    if not done:
        raise click.ClickException(f"no record {record_id} is held for review "
                                   "(see `learncard gateway review list --all`)")
    click.echo(f"record {record_id}: {state}"
               + (" — the relay, reports and exports now use it" if state == ACCEPTED else " — kept, never used"))


def _decision(name: str, state: str, summary: str, note_help: str) -> None:
    @review.command(name, help=summary)
    @click.argument("record_id")
    @click.option("--note", required=True, help=note_help)
    @click.pass_context
    def command(ctx: click.Context, record_id: str, note: str) -> None:
        _decide(ctx, record_id, state, note)


_decision("accept", ACCEPTED, "Release a held record: the relay sends it, reports and exports count it.",
          "Why it is right after all (kept with the decision).")
_decision("void", VOID, "Mark a held record void: it stays stored, and is never relayed, reported or exported.",
          "Why it is void (kept with the decision).")


def register(group: click.Group) -> None:
    group.add_command(review)
