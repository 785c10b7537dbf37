"""`learncard kiosk readers test`: what readers this machine has, and one test read."""

from __future__ import annotations

import json
import queue
import threading
from typing import Any

import click

from kiosk.reader.base import CardRead
from learncard import context
from records import slip


@click.group("readers")
def readers() -> None:
    """The kiosk's card readers: what is plugged in, and a test read."""


def describe(read: CardRead, county: str, issuer_text: str) -> str:
    """What a technician needs to know about one read: a valid learning card or why not.
    The card's id and holder are not shown."""
    from records import card, keys
    from records.errors import RecordError

    if read.how == "qr" and slip.is_slip_text(read.text or ""):
        return "一张临时学习凭条 / a walk-in slip"
    if read.torn:
        return "卡片离开太快，请再试一次 / the card left before it was read whole: try again"
    try:
        data = card.from_qr_text(read.text or "") if read.how == "qr" else card.from_ndef(read.ndef or b"")
        card.verify(data, {county: keys.public_key_from_text(issuer_text)})
    except RecordError as err:
        return f"不是本县的有效学习卡 / not a valid learning card of this county ({err.reason})"
    return f"本县有效学习卡 / a valid learning card of {county}"


def read_one(cfg: Any, timeout: float) -> tuple[CardRead | None, list[str]]:
    """Run the configured readers (not the simulated one) until one card or code is read."""
    from learncard import kiosk_app

    chosen = [r for r in kiosk_app.make_readers(cfg) if r.name != "simulated"]
    if not chosen:
        raise click.ClickException("readers.enabled names no real reader (nfc, hid, camera)")
    reads: queue.Queue[CardRead] = queue.Queue()
    states: list[str] = []
    stop = threading.Event()

    def status(name: str, state: str, detail: str) -> None:
        states.append(f"{name}: {state} {detail}".strip())
        click.echo(f"  reader {states[-1]}", err=True)

    threads = [threading.Thread(target=r.run, args=(reads.put, status, stop), daemon=True) for r in chosen]
    for t in threads:
        t.start()
    try:
        return reads.get(timeout=timeout), states
    except queue.Empty:
        return None, states
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)


@readers.command("test")
@click.option("--read/--no-read", default=True, show_default=True,
              help="Then read one card or code with the readers the configuration enables.")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds to wait for a card or code.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def test(ctx: click.Context, read: bool, timeout: float, as_json: bool) -> None:
    """List the readers plugged into this machine (with the device string for the kiosk's
    configuration), then read one card or code with the configured readers. Stop the agent
    first (systemctl stop learncard-agent): a reader serves one program at a time."""
    from kiosk.reader import discover

    cfg = context.get(ctx).load("kiosk")
    found = discover.everything()
    result: dict[str, Any] = {"found": [f.__dict__ for f in found], "enabled": list(cfg["readers"]["enabled"])}
    lines = [f"{f.kind:8} {f.device:40} {f.what}" + (f"  ⚠ {f.problem}" if f.problem else "") for f in found]
    if not found:
        lines.append("没有发现读卡器或摄像头 / no NFC reader, camera or code scanner found")
    lines.append(f"enabled in the configuration: {', '.join(cfg['readers']['enabled'])}")
    if read:
        click.echo("请刷卡或出示二维码 / tap a card or show a code …", err=True)
        got, states = read_one(cfg, timeout)
        result["states"] = states
        if got is None:
            if as_json:
                click.echo(json.dumps(result, ensure_ascii=False, indent=2))
            raise click.ClickException(f"{timeout:.0f} 秒内没有读到卡 / nothing was read within {timeout:.0f} s")
        said = describe(got, cfg["county"]["id"], cfg["county"]["issuer_public_key"])
        result["read"] = {"reader": got.reader, "how": got.how, "result": said}
        lines.append(f"read by {got.reader} ({got.how}): {said}")
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        for line in lines:
            click.echo(line)
