"""`learncard kiosk`: the venue's kiosk — agent, taps, sessions, keys."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from kiosk.control import ControlClient
from learncard import context
from learncard.commands.common import config_group
from learncard.commands.kiosk_readers import readers as readers_group


@click.group("kiosk")
@context.config_options
def group() -> None:
    """The venue's kiosk: the agent, taps, sessions and the device key."""


group.add_command(config_group("kiosk"))
group.add_command(readers_group)


def socket_path(ctx: click.Context) -> Path:
    cfg = context.get(ctx).load("kiosk")
    return Path(cfg["control"]["socket"])


def client(ctx: click.Context) -> ControlClient:
    return ControlClient(socket_path(ctx))


def call(ctx: click.Context, op: str, **args: Any) -> dict[str, Any]:
    """One request to the running agent over its control socket."""
    c = client(ctx)
    try:
        return c.call(op, **args)
    finally:
        c.close()


def show(result: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        for line in lines:
            click.echo(line)


@group.command("agent")
@click.pass_context
def agent_command(ctx: click.Context) -> None:
    """Run the kiosk agent: readers, journal, control socket and uplink (until SIGTERM)."""
    from learncard import kiosk_app

    app = kiosk_app.build(context.get(ctx).load("kiosk"))
    app.start()
    click.echo(f"kiosk agent {app.agent.signer.origin.kiosk} ready; control socket {app.server.path}", err=True)
    app.run_until_stopped()


@group.command("keygen")
@click.option("--force-path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the key here instead of kiosk.key_path.")
@click.pass_context
def keygen(ctx: click.Context, force_path: Path | None) -> None:
    """Make the kiosk's Ed25519 signing key (mode 0600; never overwrites one)."""
    from kiosk.signer import write_key
    from records import keys

    k = context.get(ctx).load("kiosk")["kiosk"]
    if k["signing_public_key"] and force_path is None:
        raise click.ClickException(
            "此终端已登记，新密钥不会被县里承认：请重新安装本机的配置包，或联系县信息中心 / "
            "this kiosk is enrolled (kiosk.signing_public_key is set): a new key would not be the registered "
            "one. Re-install this kiosk's bundle (its kiosk.key) or contact county IT")
    path = force_path or Path(k["key_path"])
    key = keys.private_key_from_seed(os.urandom(32))
    write_key(path, key)
    click.echo(f"signing key written to {path}")
    click.echo(f"public key: {keys.public_key_text(key)}")


def _tap_lines(result: dict[str, Any]) -> list[str]:
    message = result.get("message") or {}
    lines = [f"{result.get('outcome')}: {message.get('zh_CN', '')} / {message.get('en', '')}"]
    if result.get("advice"):
        lines.append(f"  {result['advice']['zh_CN']} / {result['advice']['en']}")
    if result.get("record_id"):
        lines.append(f"  record {result['record_id']}")
    return lines


@group.command("tap")
@click.argument("qr_text")
@click.option("--json", "as_json", is_flag=True, help="Print the tap result as JSON.")
@click.pass_context
def tap(ctx: click.Context, qr_text: str, as_json: bool) -> None:
    """Inject a card read (QR text, LC1:…) into the running agent: the simulated reader."""
    result = call(ctx, "tap", text=qr_text, how="qr")
    show(result, as_json, _tap_lines(result))


@group.command("status")
@click.option("--json", "as_json", is_flag=True, help="The whole snapshot as JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """The running agent's state: sessions, outbox, readers, clock, why the uplink cannot connect."""
    c = client(ctx)
    try:
        snap = c.hello["state"]
    finally:
        c.close()
    h = snap["health"]
    show(snap, as_json, [
        f"kiosk {snap['kiosk']} at {snap['venue']} ({'online' if h['online'] else 'offline'})",
        f"  pending records: {h['pending']} (oldest {h['oldest_pending_seconds']} s), clock: {h['clock']}",
        f"  journal: epoch {h['epoch']} seq {h['seq']}, {h['journal_bytes']} bytes"
        + (" — FULL" if h["journal_full"] else ""),
        *([f"  TAPS REFUSED: {h['identity']['message']['zh_CN']} / {h['identity']['message']['en']}"]
          if h.get("identity") else []),
        *[f"  ALARM {kind}: {json.dumps(detail, ensure_ascii=False)}" for kind, detail in h.get("alarms", {}).items()],
        *[f"  reader {n}: {r['state']} {r['detail']}" for n, r in h["readers"].items()],
        *[f"  uplink: {p['zh_CN']} / {p['en']} ({p['cause']}: {p['detail']})"
          for p in [h.get("uplink_problem")] if p],
        _audio_line(h.get("audio")),
        *[f"  open session {s['session_id']}: {s['course']} ({s['present']} present)" for s in snap["sessions"]],
        *certificate_lines(ctx),
    ])


def certificate_lines(ctx: click.Context) -> list[str]:
    """The 60-day warning about the kiosk's TLS certificate, for staff running `kiosk status`."""
    from datetime import UTC, datetime

    from kiosk.certificate import file_warning

    uplink = context.get(ctx).load("kiosk")["uplink"]
    if not (uplink["tls"] and uplink["cert_file"]):
        return []
    warning = file_warning(Path(uplink["cert_file"]), datetime.now(UTC))
    return [f"  ⚠ {warning[0]} / {warning[1]}"] if warning else []


def _audio_line(audio: dict | None) -> str:
    """The touchscreen's sound, as it last reported it (espeak-ng alone cannot tell)."""
    if not audio:
        return "  sound: no report from the touchscreen"
    if not audio.get("enabled"):
        return "  sound: speech off"
    last = {True: "last playback OK", False: f"last playback FAILED: {audio.get('last_error')}",
            None: "nothing played yet"}[audio.get("last_ok")]
    return (f"  sound: device {'present' if audio.get('device') else 'MISSING'}, {last}, "
            f"volume {audio.get('volume')}, rate {audio.get('rate')}")


@group.group("session")
def session() -> None:
    """Open, close and list teaching sessions (staff actions, signed with the staff id)."""


@session.command("open")
@click.option("--staff-id", required=True, help="The staff member opening it (checked against the roster).")
@click.option("--occurrence", help="A planned session of today, as `session today` lists it (course@time).")
@click.option("--course-id", help="Or: one of the venue's courses in the programme, started now (ad hoc).")
@click.option("--minutes", type=int, default=90, show_default=True,
              help="Ad hoc: planned length from now (30, 45, 60, 90, 120, 180 or 240).")
@click.option("--json", "as_json", is_flag=True, help="Print the session as JSON.")
@click.pass_context
def session_open(ctx: click.Context, staff_id: str, occurrence: str | None, course_id: str | None, minutes: int,
                 as_json: bool) -> None:
    """Open a planned session of today early, or start one of the venue's courses now. Its
    title, category, form, audience and credit rule come from the county's programme."""
    if bool(occurrence) == bool(course_id):
        raise click.UsageError("give --occurrence or --course-id")
    args = {"occurrence": occurrence} if occurrence else {"course_id": course_id, "minutes": minutes}
    result = call(ctx, "session.open", staff_id=staff_id, **args)
    show(result, as_json, [f"opened {result['session_id']}: {result['course']} until {result['planned_end']}"])


@session.command("today")
@click.option("--staff-id", required=True, help="The staff member asking (checked against the roster).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def session_today(ctx: click.Context, staff_id: str, as_json: bool) -> None:
    """Today's planned sessions at this venue and the venue's courses, from the programme."""
    result = call(ctx, "programme.today", staff_id=staff_id)
    show(result, as_json, [f"{p['occurrence']}  {p['start']}-{p['end']}  {p['title_zh']}"
                           f"{'  (opened)' if p['opened'] else ''}" for p in result["planned"]]
         + [f"course {c['course_id']}: {c['title_zh']}" for c in result["courses"]])


@session.command("close")
@click.argument("session_id")
@click.option("--staff-id", required=True, help="The staff member closing it.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def session_close(ctx: click.Context, session_id: str, staff_id: str, as_json: bool) -> None:
    """Close a session; everyone still present is checked out automatically."""
    result = call(ctx, "session.close", staff_id=staff_id, session_id=session_id)
    show(result, as_json, [f"closed {session_id}; {result['auto_checkouts']} checked out automatically"])


@session.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the sessions as JSON.")
@click.pass_context
def session_list(ctx: click.Context, as_json: bool) -> None:
    """Open sessions and today's closed ones."""
    result = call(ctx, "session.list")
    show(result, as_json, [
        f"{s['session_id']}  {'closed' if s['closed'] else 'open  '}  {s['course']}  "
        f"present {s['present']}, attendances {s['attendances']}" for s in result["sessions"]
    ] or ["no sessions today"])



