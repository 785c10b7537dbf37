"""`learncard provision programme|rules`: the county's programme (课程表) and credit rules
(学时规则) — spreadsheets in, signed versioned documents out."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from learncard.commands.provision import open_home, out
from provisioning import programme as office
from records import programme


@click.group("programme")
def programme_group() -> None:
    """The programme (课程表): courses and their planned sessions, per venue."""


@programme_group.command("template")
@click.option("--out", "out_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the template here (.csv or .xlsx); default: CSV to standard output.")
def template(out_file: Path | None) -> None:
    """A spreadsheet with the programme's columns and two example rows to copy."""
    data = office.write_rows([dict(r) for r in office.TEMPLATE_EXAMPLE], out_file)
    if out_file is None:
        sys.stdout.write(data.decode("utf-8"))
    else:
        out_file.write_bytes(data)
        click.echo(f"template written to {out_file}")


@programme_group.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--checkin-window", type=int, help="Minutes before a planned start that check-in opens.")
@click.option("--grace", type=int, help="Minutes after a planned end that the session closes.")
@click.option("--closing-time", help="HH:MM: venues close; open self-study check-ins expire then.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def import_command(ctx: click.Context, file: Path, checkin_window: int | None, grace: int | None,
                   closing_time: str | None, as_json: bool) -> None:
    """Check every row of a .csv or .xlsx programme and, only if all are right, sign it as the
    next version. Each bad row gets one message (row, column, what is wrong)."""
    settings: dict[str, object] = {}
    for key, value in (("checkin_window_minutes", checkin_window), ("grace_minutes", grace)):
        if value is not None:
            if not 0 <= value <= 240:
                raise click.BadParameter("minutes are 0..240", param_hint=key)
            settings[key] = value
    if closing_time is not None:
        if programme.parse_hhmm(closing_time) is None:
            raise click.BadParameter("closing time is HH:MM", param_hint="--closing-time")
        settings["closing_time"] = closing_time
    home = open_home(ctx)
    doc = office.import_file(home, file, settings)
    courses = doc.body["courses"]
    times = sum(len(c["times"]) for c in courses)
    out({"programme_version": doc.version, "courses": len(courses), "times": times}, as_json,
        f"programme version {doc.version}: {len(courses)} courses, {times} planned times "
        "— reload the gateway (SIGHUP) to publish it")


@programme_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print the whole signed body as JSON.")
@click.pass_context
def show(ctx: click.Context, as_json: bool) -> None:
    """The programme in force: version, session settings and one line per planned time."""
    home = open_home(ctx)
    doc = home.load_document_or_none("programme")
    if doc is None:
        raise click.ClickException("no programme yet: `learncard provision programme import FILE`")
    if as_json:
        out({"version": doc.version, "issued": doc.issued, **doc.body}, True, "")
        return
    settings = programme.session_settings(doc.body)
    lines = [f"programme version {doc.version} (issued {doc.issued}); check-in opens "
             f"{settings['checkin_window_minutes']} min before, closes {settings['grace_minutes']} min after, "
             f"venues close {settings['closing_time']}"]
    for row in programme.body_to_rows(doc.body):
        when = row["date"] or f"weekday {row['weekday']} {row['term_start']}..{row['term_end']}"
        lines.append(f"{row['venue']:<16} {row['course_id']:<20} {when:<34} {row['start']}-{row['end']}  "
                     f"{row['title_zh']}  [{row['category']}/{row['form']}/{row['audience']}] "
                     f"rule {row['credit_rule']}")
    click.echo("\n".join(lines))


@programme_group.command("export")
@click.option("--out", "out_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Write here (.csv or .xlsx); default: CSV to standard output.")
@click.pass_context
def export(ctx: click.Context, out_file: Path | None) -> None:
    """The programme in force as the spreadsheet it was imported from."""
    body = office.current(open_home(ctx))
    if body is None:
        raise click.ClickException("no programme yet: `learncard provision programme import FILE`")
    data = office.write_rows(programme.body_to_rows(body), out_file)
    if out_file is None:
        sys.stdout.write(data.decode("utf-8"))
    else:
        out_file.write_bytes(data)


@click.group("rules")
def rules_group() -> None:
    """The credit rules (学时规则): named rules that turn presence into study minutes."""


@rules_group.command("set")
@click.argument("name")
@click.option("--min-share", "min_share_percent", type=int, help="Percent of the planned time needed (0-100).")
@click.option("--rounding-minutes", type=int, help="Credited minutes go to a multiple of this.")
@click.option("--rounding", type=click.Choice(["down", "nearest"]), help="Round down or to the nearest step.")
@click.option("--cap-at-session/--no-cap-at-session", default=None,
              help="Never credit more than the session's planned length.")
@click.option("--session-cap", "session_cap_minutes", type=int, help="Most minutes per attendance (0: none).")
@click.option("--daily-cap", "daily_cap_minutes", type=int, help="Most minutes per learner per day (0: none).")
@click.option("--self-study-daily-cap", "daily_self_study_cap_minutes", type=int,
              help="Most self-study minutes per learner per day.")
@click.option("--no-checkout", type=click.Choice(["nothing", "planned"]),
              help="What a check-in never checked out earns (default nothing).")
@click.option("--default", "make_default", is_flag=True, help="Make this the rule for courses that name none.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def rules_set(ctx: click.Context, name: str, make_default: bool, as_json: bool, **values: object) -> None:
    """Add or change the credit rule NAME; settings not given keep their current values."""
    doc = office.set_rule(open_home(ctx), name, {k: v for k, v in values.items() if v is not None}, make_default)
    out({"credit_rules_version": doc.version, "rule": name, **doc.body["rules"][name]}, as_json,
        f"credit rules version {doc.version}: {name} = {doc.body['rules'][name]} "
        "— reload the gateway (SIGHUP) to publish it")


@rules_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print the rules as JSON.")
@click.pass_context
def rules_show(ctx: click.Context, as_json: bool) -> None:
    """The credit rules in force (the built-in `standard` rule until `rules set`)."""
    home = open_home(ctx)
    doc = home.load_document_or_none("credit-rules")
    book = office.rule_book(home)
    body = {"version": doc.version if doc else 0, **book.body()}
    out(body, as_json, f"credit rules version {body['version']}, default {book.default}\n" + "\n".join(
        f"  {name}: {rule.as_dict()}" for name, rule in sorted(book.rules.items())))


def register(group: click.Group) -> None:
    group.add_command(programme_group)
    group.add_command(rules_group)
