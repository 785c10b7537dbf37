"""`learncard gateway service-hours|registrations`: from the store and the county's files."""

from __future__ import annotations

import json
from typing import Any

import click

from learncard import context


def _records_and_docs(ctx: click.Context) -> tuple[list[Any], Any]:
    from pathlib import Path

    from gateway.county_files import CountyFiles
    from gateway.store import Store
    from records import keys
    from records.record import parse_unverified

    cfg = context.get(ctx).load("gateway")
    g = cfg["gateway"]
    files = CountyFiles(g["county"], keys.public_key_from_text(g["issuer_public_key"]),
                        {"registry": Path(g["registry"]), "staff": Path(g["staff"]),
                         "programme": Path(g["programme"])})
    files.load(first=True)
    store = Store.open(cfg["store"]["url"])
    try:
        records, cursor = [], 0
        while rows := store.records_after(cursor, 5000):
            records += [parse_unverified(token) for _, token in rows]
            cursor = rows[-1][0]
    finally:
        store.close()
    return records, files


def _print(rows: list[dict[str, Any]], as_json: bool, line: Any, empty: str) -> None:
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        click.echo("\n".join(line(r) for r in rows) or empty)


@click.command("service-hours")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.pass_context
def service_hours(ctx: click.Context, as_json: bool) -> None:
    """Service hours (志愿服务/授课) per teacher, volunteer and staff member, from the open and
    close records of the sessions they ran; roles from the staff roster."""
    from gateway.service_hours import service_hours as compute

    records, files = _records_and_docs(ctx)
    roster = files.document("staff")
    roles = {str(s["staff_id"]): str(s.get("role", "staff")) for s in (roster.body.get("staff", []) if roster else [])}
    _print(compute(records, roles), as_json,
           lambda r: f"{r['staff_id']:<20} {r['role']:<10} sessions {r['sessions']:>3}  hours {r['service_hours']}",
           "no sessions closed yet")


@click.command("registrations")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.pass_context
def registrations(ctx: click.Context, as_json: bool) -> None:
    """Every course's registration list settled across the venue's kiosks: the earliest
    registrations hold the places; who lost a place to another kiosk is marked."""
    from gateway.service_hours import registration_lists

    records, files = _records_and_docs(ctx)
    body = files.document("programme")
    capacity = {str(c["course_id"]): c.get("capacity") for c in (body.body.get("courses", []) if body else [])}
    _print(registration_lists(records, capacity), as_json,
           lambda r: (f"{r['venue']:<14} {r['course_id']:<16} {r['scope']:<24} {r['learner']}  {r['status']}"
                      + (f" #{r['place']}" if r["place"] else "") + ("  (lost the place)" if r["lost_place"] else "")),
           "no registrations")


def register(group: click.Group) -> None:
    group.add_command(service_hours)
    group.add_command(registrations)
