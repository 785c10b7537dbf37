"""`learncard provision cards|staff`: learning cards, staff cards, the revocation list and the
staff roster."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from learncard.commands.provision import open_home, out
from provisioning import sheet
from provisioning import staff as staff_roster
from provisioning.cards import CardOffice, Issued, learner_text, parse_order, read_csv


def _issued_rows(issued: list[Issued], files: Path) -> list[dict[str, Any]]:
    return [{"card": i.credential.card_id, "learner_code": i.credential.learner_code, "name": i.credential.name,
             "groups": i.credential.group_names, "credential": str(files / f"{i.credential.card_id}.cose"),
             "qr_text": i.qr_text} for i in issued]


@click.group("cards")
def cards() -> None:
    """Learning cards: issue, revoke, list, show."""


@cards.command("issue")
@click.option("--learner", help="An existing learner code (13 digits); default: a new one.")
@click.option("--name", help="The resident's name: only its masked form (王*明) is kept and printed.")
@click.option("--groups", default="", help="Comma-separated: elder, youth, migrant, disabled.")
@click.option("--csv", "csv_file", type=click.Path(path_type=Path, dir_okay=False),
              help="A batch: columns learner_code, name, groups (any may be empty).")
@click.option("--sheet", "sheet_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write a printable PDF sheet of QR cards here.")
@click.option("--json", "as_json", is_flag=True, help="Print the issued cards as JSON.")
@click.pass_context
def issue(ctx: click.Context, learner: str | None, name: str | None, groups: str, csv_file: Path | None,
          sheet_file: Path | None, as_json: bool) -> None:
    """Issue one card, or a batch from a CSV (every row is checked before any card is made)."""
    home = open_home(ctx)
    if csv_file is not None:
        if learner or name or groups:
            raise click.UsageError("--csv issues a batch: leave out --learner, --name and --groups")
        orders = read_csv(csv_file.read_text(encoding="utf-8"))
    else:
        orders = [parse_order(learner, name, groups)]
    office = CardOffice(home)
    if len(orders) > 1 and sys.stderr.isatty() and not as_json:
        from rich.progress import Progress

        with Progress() as bar:
            task = bar.add_task("发卡 / issuing cards", total=len(orders))
            issued = office.issue(orders, lambda n: bar.advance(task, n))
    else:
        issued = office.issue(orders)
    if sheet_file is not None:
        sheet_file.write_bytes(sheet.render(issued, home.county_id))
    rows = _issued_rows(issued, office.folder)
    out(rows, as_json, "\n".join(f"{r['card']}  {learner_text(int(r['learner_code']))}  {r['name'] or ''}"
                                 for r in rows)
        + (f"\nsheet: {sheet_file}" if sheet_file else ""))


@cards.command("sheet")
@click.argument("keys", nargs=-1, required=True)
@click.option("--out", "sheet_file", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The PDF to write.")
@click.pass_context
def sheet_command(ctx: click.Context, keys: tuple[str, ...], sheet_file: Path) -> None:
    """(Re)print the QR cards of issued cards, by card id or learner code."""
    from records import card

    office = CardOffice(open_home(ctx))
    issued = []
    for key in keys:
        for entry in office.find(key):
            data = office.credential(entry["card"])
            issued.append(Issued(card.decode_unverified(data), data))
    sheet_file.write_bytes(sheet.render(issued, office.home.county_id))
    click.echo(f"{len(issued)} card(s) on {sheet_file}")


@cards.command("write")
@click.argument("card_id")
@click.option("--device", default="usb", show_default=True, help="nfcpy device path (usb, tty:USB0:pn532, …).")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds to wait for a tag.")
@click.option("--lock", is_flag=True, help="Then lock the tag for good (it can never be written again).")
@click.option("--sun", "anti_clone", is_flag=True,
              help="An NTAG 424 DNA anti-clone card: SUN message, SDM and keys from the county's SDM master key.")
@click.pass_context
def write(ctx: click.Context, card_id: str, device: str, timeout: float, lock: bool, anti_clone: bool) -> None:
    """Write a card's credential to an NFC tag, read it back and verify it before saying so."""
    from provisioning import ntag424
    from provisioning.tagwriter import write_credential, write_sun_card

    if lock and anti_clone:
        raise click.UsageError("--sun cards are protected by their keys: --lock is for NTAG21x tags")
    home = open_home(ctx)
    data = CardOffice(home).credential(card_id)
    click.echo("请把空白卡放在写卡器上 / put a blank tag on the writer …", err=True)
    if anti_clone:
        master = ntag424.master_key(home.path_of("keys/sun-master.hex"))
        written = write_sun_card(device, data, master, home.county_id, timeout=timeout)
        done = " and personalised (SUN)"
    else:
        written = write_credential(device, data, timeout=timeout, lock=lock)
        done = " and locked" if lock else ""
    click.echo(f"card {card_id} written to a {written.tag_type} ({written.bytes_written} of {written.capacity} "
               f"bytes){done} and verified")


@cards.command("revoke")
@click.argument("card_id")
@click.option("--reason", default="lost", show_default=True, help="lost, stolen, damaged, replaced …")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def revoke(ctx: click.Context, card_id: str, reason: str, as_json: bool) -> None:
    """Revoke a card: the next version of the signed revocation list (reload the gateway)."""
    doc = CardOffice(open_home(ctx)).revoke(card_id, reason)
    out({"card": card_id, "revocation_list_version": doc.version}, as_json,
        f"card {card_id} revoked; revocation list version {doc.version} — reload the gateway (SIGHUP) to publish it")


@cards.command("forget")
@click.argument("learner")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def forget(ctx: click.Context, learner: str, as_json: bool) -> None:
    """Forget a resident (an erasure request): revoke every card of the learner code, blank the
    masked names in the card roster and delete the stored credentials (docs/privacy.md)."""
    from provisioning.forget import forget as forget_learner

    result = forget_learner(CardOffice(open_home(ctx)), learner)
    out(result, as_json, f"learner {learner} forgotten: {len(result['cards'])} card(s), "
        f"{len(result['revoked_now'])} newly revoked — reload the gateway (SIGHUP) to publish the revocation list")


@cards.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the cards as JSON.")
@click.pass_context
def list_cards(ctx: click.Context, as_json: bool) -> None:
    """Every card issued in this county, with its status."""
    rows = CardOffice(open_home(ctx)).index()
    out(rows, as_json, "\n".join(f"{r['card']}  {r['learner']}  {r['status']:<8} {'staff ' if r['staff'] else ''}"
                                 f"{r.get('name') or ''}" for r in rows) or "no cards issued")


@cards.command("show")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def show(ctx: click.Context, key: str, as_json: bool) -> None:
    """A card by its card id, or every card of a learner code."""
    rows = CardOffice(open_home(ctx)).find(key)
    out(rows, as_json, "\n".join(json.dumps(r, ensure_ascii=False) for r in rows))


@click.group("staff")
def staff() -> None:
    """Staff and volunteers: the signed roster kiosks check staff cards and PINs against."""


@staff.command("add")
@click.argument("staff_id")
@click.option("--role", type=click.Choice(staff_roster.ROLES), default="staff", show_default=True,
              help="staff, teacher or volunteer.")
@click.option("--venue", "venues", multiple=True, required=True, help="A venue they may run (repeat; * = all).")
@click.option("--name", help="Their name, for the card's greeting (only the masked form is kept).")
@click.option("--pin-stdin", is_flag=True, help="Read the PIN from standard input (for scripts).")
@click.option("--sheet", "sheet_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the staff card's QR sheet here.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def staff_add(ctx: click.Context, staff_id: str, role: str, venues: tuple[str, ...], name: str | None,
              pin_stdin: bool, sheet_file: Path | None, as_json: bool) -> None:
    """Add a staff member or volunteer: a staff card and a PIN (kept only as a slow salted hash)."""
    pin = sys.stdin.readline().strip() if pin_stdin else click.prompt("PIN", hide_input=True, confirmation_prompt=True)
    home = open_home(ctx)
    doc, issued = staff_roster.add(home, staff_id, role, list(venues), pin, name)
    if sheet_file is not None:
        sheet_file.write_bytes(sheet.render([issued], home.county_id))
    out({"staff_id": staff_id, "card": issued.credential.card_id, "roster_version": doc.version}, as_json,
        f"{staff_id} added with staff card {issued.credential.card_id}; roster version {doc.version} "
        "— reload the gateway (SIGHUP) to publish it")


@staff.command("remove")
@click.argument("staff_id")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def staff_remove(ctx: click.Context, staff_id: str, as_json: bool) -> None:
    """Take someone off the roster (their staff card stops opening staff mode)."""
    doc = staff_roster.remove(open_home(ctx), staff_id)
    out({"staff_id": staff_id, "roster_version": doc.version}, as_json,
        f"{staff_id} removed; roster version {doc.version}")


@staff.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the roster as JSON.")
@click.pass_context
def staff_list(ctx: click.Context, as_json: bool) -> None:
    """The roster (without PIN hashes)."""
    rows = staff_roster.listing(open_home(ctx))
    out(rows, as_json, "\n".join(f"{r['staff_id']:<20} {r['role']:<10} card {r['card']}  "
                                 f"venues {', '.join(r['venues'])}" for r in rows) or "no staff on the roster")


def register(group: click.Group) -> None:
    group.add_command(cards)
    group.add_command(staff)

