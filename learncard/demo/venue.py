"""The scripted venue run: a county, its broker and gateway, a kiosk, residents and a
volunteer, on this machine.

Every part is the real program started as its own process: `learncard provision` makes
the county (keys, CA, registry), enrols the kiosk and writes the broker's configuration;
Mosquitto runs with mutual TLS and the ACL; `learncard gateway run` and `learncard kiosk
agent` run as in the field. The script then drives the kiosk the way people would,
through the agent's control socket.
"""

from __future__ import annotations

import getpass
import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.control import ControlClient
from learncard.demo.lrs import Lrs
from learncard.demo.lrs import installed as lrs_installed
from learncard.demo.processes import DemoError, Processes, free_port, port_open, wait_for
from provisioning.home import CountyHome
from records import card, county, ids, keys
from records.record import parse_unverified

COUNTY = "county-demo"
KIOSK = "k-demo-1"
VENUE = "v-chengguan"
VENUE_NAME = "城关镇社区学校"
STAFF_PIN = "2468"
RESIDENTS = [("王小明", ["elder"]), ("李秀英", ["elder"]), ("张伟", []), ("刘芳", ["migrant"]),
             ("陈建国", ["elder", "disabled"])]


@dataclass
class Scene:
    """What the demo did, for the summary."""

    lines: list[tuple[str, str]] = field(default_factory=list)

    def say(self, who: str, what: str) -> None:
        self.lines.append((who, what))
        print(f"  {who:<10} {what}", flush=True)


def tap_line(result: dict[str, Any]) -> str:
    message = result.get("message") or {}
    return f"[{result['outcome']}] {message.get('zh_CN', '')} / {message.get('en', '')}"


def provision(processes: Processes, folder: Path, broker_port: int) -> tuple[CountyHome, Path, Path]:
    """The county's IT work, with the real commands: init, enrol (lab mode), broker config."""
    home_dir, kiosk_dir, broker_dir = folder / "county", folder / "kiosk", folder / "broker"
    steps = [
        ["init", "--county", COUNTY, "--home-page", "https://learn.county-demo.example"],
        ["enroll", "--generate", "--kiosk", KIOSK, "--venue", VENUE, "--venue-name", VENUE_NAME,
         "--level", "township-school", "--out", str(kiosk_dir), "--broker-host", "localhost",
         "--broker-port", str(broker_port)],
        ["broker-config", "--out", str(broker_dir), "--port", str(broker_port), "--address", "127.0.0.1",
         "--user", getpass.getuser()],
    ]
    for step in steps:
        child = processes.learncard(f"provision-{step[0]}", ["provision", "--home", str(home_dir), *step])
        if child.popen.wait(timeout=60) != 0:
            raise DemoError(f"`learncard provision {step[0]}` failed; see {child.log}")
        processes.children.remove(child)
    return CountyHome.open(home_dir), kiosk_dir, broker_dir / "mosquitto.conf"


def issue_cards(home: CountyHome) -> tuple[card.Credential, list[tuple[str, card.Credential]]]:
    """Cards for a volunteer and five residents, signed with the county's issuer key.

    (`learncard provision cards issue` is issue 8; until then the demo signs them here.)"""
    counter = [330_100_000_000]

    def credential(name: str | None, groups: list[str], staff: bool = False) -> card.Credential:
        counter[0] += 7
        return card.Credential(COUNTY, int(time.time()), int(ids.learner_code(counter[0])), os.urandom(8),
                               card.groups_mask(groups), staff, card.mask_name(name) if name else None)

    staff_card = credential(None, [], staff=True)
    residents = [(name, credential(name, groups)) for name, groups in RESIDENTS]
    home.save_document("staff", {"staff": [
        {"staff_id": "s-volunteer-01", "card": staff_card.card_id, "role": "volunteer", "venues": [VENUE],
         "pin_hash": county.hash_pin(STAFF_PIN, os.urandom(16))}]})
    home.save_document("revoked-cards", {"cards": [{"card": residents[3][1].card_id, "reason": "lost"}]})
    return staff_card, residents


def run_venue(folder: Path, processes: Processes) -> dict[str, Any]:
    """Run the whole day; returns what the summary prints."""
    broker_port, metrics_port = free_port(), free_port()
    home, kiosk_dir, broker_conf = provision(processes, folder, broker_port)
    staff_card, residents = issue_cards(home)

    broker = processes.start("mosquitto", ["mosquitto", "-c", str(broker_conf)])
    wait_for("Mosquitto (TLS)", port_open(broker_port), 20, broker)
    lrs = Lrs().start() if lrs_installed() else None
    try:
        return day(processes, folder, home, kiosk_dir, staff_card, residents, broker_port, metrics_port, lrs)
    finally:
        if lrs is not None:
            lrs.stop()


def day(processes: Processes, folder: Path, home: CountyHome, kiosk_dir: Path, staff_card: card.Credential,
        residents: list[tuple[str, card.Credential]], broker_port: int, metrics_port: int,
        lrs: Lrs | None) -> dict[str, Any]:
    def qr(cred: card.Credential) -> str:
        return card.to_qr_text(card.issue(cred, home.issuer_key()))

    store = folder / "gateway.sqlite3"
    relay = ["--set", "lrs.enabled=true", "--set", f"lrs.endpoint={lrs.endpoint}", "--set", "lrs.username=demo",
             "--set", "lrs.password=demo"] if lrs else []
    gateway = processes.learncard("gateway", [
        "-v", "gateway", "--config", str(home.path_of("gateway/gateway.toml")),
        "--set", f"store.url=sqlite:///{store}", "--set", f"gateway.metrics_port={metrics_port}",
        "--set", f"broker.port={broker_port}", *relay, "run"])
    wait_for("the gateway's /healthz", lambda: healthy(metrics_port), 30, gateway)
    socket = Path(tempfile.mkdtemp(prefix="lc-demo-")) / "agent.sock"
    agent = processes.learncard("kiosk-agent", [
        "-v", "kiosk", "--config", str(kiosk_dir / "kiosk.toml"), "--set", f"control.socket={socket}",
        "--set", "rules.debounce_seconds=2", "--set", "uplink.resend_after_seconds=5", "agent"])
    wait_for("the kiosk agent", socket.exists, 30, agent)
    client = ControlClient(socket)
    scene = Scene()
    try:
        wait_for("the kiosk to get the county's lists over MQTT",
                 lambda: client.call("state")["health"]["staff_roster_version"] >= 2, 30, agent)
        scene.say("kiosk", "online over mutual TLS; staff roster and revocation list received from the gateway")
        tap = client.call("tap", text=qr(staff_card))
        login = client.call("staff.login", card_id=tap["card_id"], pin=STAFF_PIN)
        scene.say("volunteer", "taps the staff card and types the PIN: staff mode open")
        session = client.call("session.open", token=login["token"], course="智能手机入门",
                              category="elder-education", minutes=90)
        scene.say("volunteer", f"opens the session 《{session['course']}》")
        for name, cred in residents:
            scene.say(card.mask_name(name), tap_line(client.call("tap", text=qr(cred))))
        again = client.call("tap", text=qr(residents[0][1]))
        scene.say(card.mask_name(residents[0][0]), "taps again at once: " + tap_line(again))
        forged = card.Credential(COUNTY, int(time.time()), int(ids.learner_code(1)), os.urandom(8))
        impostor = keys.private_key_from_seed(os.urandom(32))
        result = client.call("tap", text=card.to_qr_text(card.issue(forged, impostor)))
        scene.say("someone", "shows a forged card (right county, wrong key): " + tap_line(result))
        scene.say("someone", "shows a torn QR code: " + tap_line(client.call("tap", text="LC1:NOT-A-CARD")))
        manual = client.call("attendance.manual", token=login["token"],
                             learner_code=ids.learner_code(330_100_999_999), reason="忘带卡 / forgot the card",
                             minutes=60)
        scene.say("volunteer", f"records a resident without a card (record {manual['record_id'][:8]}…)")
        walkin = client.call("walkin.enroll", token=login["token"])
        scene.say("volunteer", f"enrols a walk-in: temporary learner id {walkin['learner']}")
        time.sleep(2.2)  # past the debounce window
        out = client.call("tap", text=qr(residents[1][1]))
        scene.say(card.mask_name(residents[1][0]), "leaves early: " + tap_line(out))
        client.call("rate", rating_for=out["rating_for"], score=5)
        scene.say(card.mask_name(residents[1][0]), "rates the session ★★★★★")
        closed = client.call("session.close", token=login["token"], session_id=session["session_id"])
        scene.say("volunteer", f"closes the session: {closed['auto_checkouts']} checked out automatically")
        figures = client.call("figures", token=login["token"])
        wait_for("the kiosk's outbox to empty (every record settled by a gateway receipt)",
                 lambda: client.call("state")["health"]["pending"] == 0, 60, agent)
        snapshot = client.call("state")
    finally:
        client.close()
    statements = statements_at(lrs, kiosk_dir / "state" / "journal.sqlite3", gateway) if lrs else None
    processes.stop(agent)
    processes.stop(gateway)
    return {"figures": figures, "health": snapshot["health"], "gateway_store": store,
            "journal": kiosk_dir / "state" / "journal.sqlite3", "scene": scene, "statements": statements}


def statements_at(lrs: Lrs, journal: Path, gateway: Any) -> list[dict[str, Any]]:
    """Wait until the LRS holds a statement for every relayed record; return them."""
    from gateway.lrs import LrsClient
    from gateway.xapi import RELAYED_TYPES, statement_id

    wanted = {statement_id(parse_unverified(t).id) for t in read_tokens(journal, "SELECT token FROM records")
              if parse_unverified(t).type in RELAYED_TYPES}
    client = LrsClient(lrs.endpoint, "demo", "demo")
    found: dict[str, dict[str, Any]] = {}

    def arrived() -> bool:
        found.update({s["id"]: s for s in client.get_all() if s["id"] in wanted})
        return len(found) == len(wanted)

    wait_for("the statements at the LRS", arrived, 60, gateway)
    return list(found.values())


def healthy(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:  # noqa: S310
            return bool(answer.status == 200)
    except OSError:
        return False


def count_types(tokens: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for token in tokens:
        rtype = parse_unverified(token).type
        counts[rtype] = counts.get(rtype, 0) + 1
    return counts


def read_tokens(path: Path, sql: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute(sql).fetchall()]
    finally:
        conn.close()


def summary(outcome: dict[str, Any]) -> list[str]:
    kiosk = read_tokens(outcome["journal"], "SELECT token FROM records ORDER BY epoch, seq")
    stored = read_tokens(outcome["gateway_store"], "SELECT token FROM records ORDER BY epoch, seq")
    if not kiosk:
        raise DemoError("the kiosk journal holds no records")
    if sorted(kiosk) != sorted(stored):
        raise DemoError(f"the gateway holds {len(stored)} records, the kiosk made {len(kiosk)}")
    figures, health = outcome["figures"], outcome["health"]
    lines = [f"records made by the kiosk: {len(kiosk)} (epoch {health['epoch']}, chain head seq {health['seq']})",
             f"records verified and stored by the gateway: {len(stored)} — the same bytes, each once"]
    lines += [f"    {rtype:<22} {n}" for rtype, n in sorted(count_types(stored).items())]
    lines += [f"today at the venue: {figures['checkins']} check-ins, {figures['checkouts']} check-outs, "
              f"{figures['learners']} learners, {figures['minutes_credited']} minutes credited, "
              f"{figures['rejected']} refused",
              f"kiosk outbox: {health['pending']} pending; clock state {health['clock']}"]
    statements = outcome.get("statements")
    if statements is None:
        lines.append("LRS: not installed (run scripts/setup.sh) — the relay was not shown")
    else:
        lines.append(f"xAPI statements at the county LRS: {len(statements)}, one per relayed record")
        for s in sorted(statements, key=lambda s: s["timestamp"]):
            verb = s["verb"]["id"].rsplit("/", 1)[-1]
            detail = s.get("result", {}).get("duration") or s.get("result", {}).get("score", {}).get("raw", "")
            lines.append(f"    {verb:<10} {s['actor']['account']['name']:<14} {detail!s:<8} {s['object']['id']}")
    return lines

