"""`learncard gateway report|export`: the county's statistics and exports from the store."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from learncard import context
from learncard.commands.gateway_relay import _when


def registry_body(cfg: Any) -> dict[str, Any]:
    """The registry the gateway uses, verified (empty if it cannot be read)."""
    from gateway.county_files import CountyFiles
    from gateway.errors import GatewayError
    from records import keys
    from records.errors import RecordError

    g = cfg["gateway"]
    try:
        files = CountyFiles(g["county"], keys.public_key_from_text(g["issuer_public_key"]),
                            {"registry": Path(g["registry"])}, pages=False)
        files.load(first=True)
        return dict(files.registry().document.body)
    except (GatewayError, RecordError, OSError):
        return {}


def venue_zones(cfg: Any) -> dict[str, str]:
    """Venue → time zone from the registry the gateway uses (empty if it cannot be read)."""
    return {v: str(e.get("timezone", "Asia/Shanghai")) for v, e in registry_body(cfg).get("venues", {}).items()}


def open_reading_store(ctx: click.Context) -> Any:
    """For reports and exports: the read replica when ``store.report_url`` names one (their
    long reads then never compete with ingest on the primary), opened without migrations (a
    replica refuses writes); else the store itself."""
    from gateway.store import Store

    section = context.get(ctx).load("gateway")["store"]
    if section["report_url"]:
        return Store.open(section["report_url"], migrate=False)
    return Store.open(section["url"])


def county_files(cfg: Any) -> Any:
    """The registry the gateway uses, loaded (a ClickException if it cannot be)."""
    from gateway.county_files import CountyFiles
    from gateway.errors import GatewayError
    from records import keys
    from records.errors import RecordError

    g = cfg["gateway"]
    try:
        files = CountyFiles(g["county"], keys.public_key_from_text(g["issuer_public_key"]),
                            {"registry": Path(g["registry"])}, pages=False)
        files.load(first=True)
    except (GatewayError, RecordError, OSError) as err:
        raise click.ClickException(f"注册表无法读取 / the registry cannot be read: {err}") from err
    return files


def signer_purposes(cfg: Any) -> Any:
    """The registry's purpose of each county signer (none known without a registry: kiosks'
    corrections still hold)."""
    try:
        return county_files(cfg).registry().purpose_of
    except click.ClickException:
        return {}.get


def read_corrected(ctx: click.Context, cfg: Any) -> tuple[list[Any], list[Any], Any]:
    """The store's records with corrections applied and walk-ins linked (gateway/corrections.py),
    erased learners and records held for review left out; the voided ones; each venue's zone."""
    from zoneinfo import ZoneInfo

    from gateway.corrections import corrected
    from gateway.privacy import keeper

    zones = venue_zones(cfg)
    store = open_reading_store(ctx)
    try:
        records, voided = corrected(store, signer_purposes(cfg))
        keep = keeper(store)
    finally:
        store.close()
    return ([r for r in records if keep(r)], [r for r in voided if keep(r)],
            lambda venue: ZoneInfo(zones.get(venue, "Asia/Shanghai")))


def stored(ctx: click.Context) -> tuple[list[tuple[Any, str]], Any, dict[str, str]]:
    """Every stored (record, flags) in commit order, the filter that leaves out erased
    learners (gateway/privacy.py), and the review state of records held for review."""
    from gateway.analyst import review_states
    from gateway.privacy import keeper
    from records.record import parse_unverified

    store = open_reading_store(ctx)
    try:
        rows = [(parse_unverified(token), flags) for token, flags in
                store.query("SELECT token, flags FROM records ORDER BY rowid_")]
        keep = keeper(store)
        review = review_states(store)
    finally:
        store.close()
    return rows, keep, review


@click.command("export")
@click.option("--since", help="From this time (ISO 8601; without an offset: China time). Inclusive.")
@click.option("--until", help="Up to this time (ISO 8601). Exclusive.")
@click.option("--out", "out_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Write here instead of standard output.")
@click.option("--sqlite", "sqlite_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Instead: build the analyst database here (a read-only SQLite copy; browse it with "
                   "`datasette --immutable FILE`).")
@click.option("--county-name", default="", help="With --sqlite: the county's name in the venue tree.")
@click.pass_context
def export(ctx: click.Context, since: str | None, until: str | None, out_file: Path | None,
           sqlite_file: Path | None, county_name: str) -> None:
    """Stored records as JSON lines (the exact signed record and its decoded fields), or with
    --sqlite an analyst database: a table per record type, the venue tree, views for the
    report's tables and full-text search on course titles."""
    from gateway.corrections import load_ledger
    from gateway.export import export_lines
    from gateway.privacy import keeper

    if sqlite_file is not None:
        _export_sqlite(ctx, sqlite_file, _when(since), _when(until), county_name)
        return
    store = open_reading_store(ctx)


    cfg = context.get(ctx).load("gateway")
    left_out: list[str] = []
    store = open_reading_store(ctx)
    handle = out_file.open("w", encoding="utf-8") if out_file else sys.stdout
    try:
        n = 0
        voided = load_ledger(store, signer_purposes(cfg)).voided
        for line in export_lines(store, _when(since), _when(until), keep=keeper(store), voided=voided,
                                 left_out=left_out):
            handle.write(line + "\n")
            n += 1
    finally:
        store.close()
        if out_file:
            handle.close()
    click.echo(f"{n} records exported; {len(left_out)} voided record(s) left out", err=True)


def _export_sqlite(ctx: click.Context, path: Path, since: Any, until: Any, county_name: str) -> None:
    from gateway import analyst, statistics
    from records.record import parse_time

    cfg = context.get(ctx).load("gateway")
    tree = statistics.Tree.from_registry(registry_body(cfg), cfg["gateway"]["county"], county_name)
    rows, erased_out, review = stored(ctx)

    def keep(rec: Any) -> bool:
        moment = parse_time(rec.event["time"])
        return erased_out(rec) and not ((since and moment < since) or (until and moment >= until))

    counts = analyst.build(rows, tree, path, review, keep)
    click.echo(f"{sum(counts.values())} records in {len(counts)} tables written to {path} "
               f"(read-only; browse: datasette --immutable {path})")


@click.command("report")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder for report.xlsx, report.html, the tables as CSV, statistics.json and the charts.")
@click.option("--period", type=click.Choice(["month", "term", "year"]),
              help="Count one month (--at 2026-11), term (--at 2026-autumn / 2026-spring) or year (--at 2026).")
@click.option("--at", "at", help="Which month, term or year (with --period).")
@click.option("--scope", type=click.Choice(["venue", "township", "county"]), default="venue", show_default=True,
              help="The rows of the tables: each venue, each township, or the county.")
@click.option("--population", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="The county's CSV township,residents,elderly: adds participation and training rates.")
@click.option("--county-name", default="", help="The county's name for the tables (default: its id).")
@click.option("--star-min-hours", type=float, default=20.0, show_default=True,
              help="Learning-star candidates: at least these study hours (above 0).")
@click.option("--star-min-attendances", type=int, default=10, show_default=True,
              help="Learning-star candidates: at least this many attendances.")
@click.option("--star-min-months", type=int, default=3, show_default=True,
              help="Learning-star candidates: active in at least this many months (regularity).")
@click.option("--since", help="Without --period: from this time (ISO 8601; without an offset: China time).")
@click.option("--until", help="Without --period: up to this time (exclusive).")
@click.option("--top", type=int, default=10, show_default=True, help="How many learners in the old stars.csv.")
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
@click.pass_context
def report(ctx: click.Context, out_dir: Path, period: str | None, at: str | None, scope: str,
           population: Path | None, county_name: str, star_min_hours: float, star_min_attendances: int,
           star_min_months: int, since: str | None, until: str | None, top: int, as_json: bool) -> None:
    """The county's statistics (统计报表) by venue, township or county for a month, term or
    year: sessions, attendances, learners, study hours by content category, activity form and
    audience; registered vs attended; the elderly's share; satisfaction; service hours;
    learning-star candidates; rates from the county's population figures. Writes an XLSX
    workbook, CSV, JSON, PNG charts and an HTML page (and the older venues/stars/staff CSV)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from gateway import report as reports
    from gateway import statistics
    from gateway.report_chart import render
    from gateway.report_files import write_all

    cfg = context.get(ctx).load("gateway")
    body = registry_body(cfg)
    tree = statistics.Tree.from_registry(body, cfg["gateway"]["county"], county_name)
    try:
        if period:
            if not at:
                raise click.BadParameter("--period needs --at (2026-11, 2026-autumn or 2026)")
            label, start, end = statistics.period(period, at)
        else:
            start = _when(since) or datetime(1970, 1, 1, tzinfo=statistics.CHINA)
            end = _when(until) or datetime(9999, 1, 1, tzinfo=statistics.CHINA)
            label = f"{since or '…'}—{until or '…'}"
        pop = statistics.read_population(population.read_text(encoding="utf-8")) if population else None
        stars = statistics.StarCriteria(star_min_hours, star_min_attendances, star_min_months)
        # held for review or voided by review: left out (accepted after review: counted); corrections
        # applied, voided records left out and counted, walk-ins counted under their learner code
        records, voided, _zone_of = read_corrected(ctx, cfg)
        stats = statistics.build(records, tree, label, start, end, scope, pop, stars)
    except statistics.StatisticsError as err:
        raise click.ClickException(str(err)) from err
    write_all(stats, out_dir)
    zones = venue_zones(cfg)
    old = reports.build(records, lambda venue: ZoneInfo(zones.get(venue, "Asia/Shanghai")), top, start, end)
    old.voided_left_out = len(voided)
    (out_dir / "report.json").write_text(json.dumps(old.as_json(), ensure_ascii=False, indent=2))
    for name, rows in (("venues", old.cells), ("stars", old.stars), ("staff", old.staff)):
        (out_dir / f"{name}.csv").write_text(reports.to_csv(rows), encoding="utf-8-sig")
    (out_dir / "monthly.png").write_bytes(render(old.cells))
    if as_json:
        click.echo(json.dumps({**stats.as_json(), **old.as_json()}, ensure_ascii=False, indent=2))
        return
    summary = stats.table("summary")
    for row in [*summary.rows, summary.totals or {}]:
        click.echo(f"{row['code']:<16} {row['name']:<20} sessions {row['sessions']:>4}  attendances "
                   f"{row['attendances']:>5}  learners {row['learners']:>5}  hours {row['hours']:>8}")
    click.echo(f"written to {out_dir} (report.xlsx, report.html)")


def register(group: click.Group) -> None:
    group.add_command(report)
    group.add_command(export)
