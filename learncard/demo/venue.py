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
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.control import ControlClient
from learncard.demo.lrs import Lrs
from learncard.demo.lrs import installed as lrs_installed
from learncard.demo.processes import Child, DemoError, Processes, free_port, port_open, wait_for
from provisioning.home import CountyHome
from records import card, ids, keys
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


TORN_QR = "LC1:NOT-A-CARD"


def tap_line(result: dict[str, Any]) -> str:
    message = result.get("message") or {}
    return f"[{result['outcome']}] {message.get('zh_CN', '')} / {message.get('en', '')}"


def provision(processes: Processes, folder: Path, broker_port: int) -> tuple[CountyHome, Path, Path]:
    """The county's IT work, with the real commands: init, enrol (lab mode), broker config."""
    home_dir, kiosk_dir, broker_dir = folder / "county", folder / "kiosk", folder / "broker"
    steps = [
        ["init", "--county", COUNTY, "--home-page", "https://learn.county-demo.example"],
        ["enroll", "--generate", "--kiosk", KIOSK, "--venue", VENUE, "--venue-name", VENUE_NAME,
         "--readers", "simulated", "--level", "township-school", "--out", str(kiosk_dir), "--broker-host", "localhost",
         "--broker-port", str(broker_port)],
        ["broker-config", "--out", str(broker_dir), "--port", str(broker_port), "--address", "127.0.0.1",
         "--user", getpass.getuser()],
    ]
    for step in steps:
        processes.run(f"provision-{step[0]}", ["provision", "--home", str(home_dir), *step])
    return CountyHome.open(home_dir), kiosk_dir, broker_dir / "mosquitto.conf"


@dataclass
class Cards:
    """The sample cards, as QR text: what a resident would show the kiosk's camera."""

    staff: str
    residents: list[tuple[str, str]]  # masked name, QR text
    lost: int  # index of the resident whose card was reported lost (revoked)


def issue_cards(processes: Processes, home: CountyHome) -> Cards:
    """A volunteer's staff card and five residents' cards, with `learncard provision` as county
    IT would issue them; one resident's card is then reported lost."""
    base = ["provision", "--home", str(home.path)]
    batch = home.path / "residents.csv"
    batch.write_text("learner_code,name,groups\n" + "".join(
        f"{ids.learner_code(330_100_000_000 + 7 * i)},{name},{';'.join(groups)}\n"
        for i, (name, groups) in enumerate(RESIDENTS)), encoding="utf-8")
    issued = json.loads(processes.run("provision-cards", [*base, "cards", "issue", "--csv", str(batch), "--json"]))
    volunteer = json.loads(processes.run(
        "provision-staff", [*base, "staff", "add", "s-volunteer-01", "--role", "volunteer", "--venue", VENUE,
                            "--json", "--pin-stdin"], stdin=STAFF_PIN + "\n"))
    timetable = home.path / "programme.csv"  # the county's timetable: one course, every day this year
    year = time.localtime().tm_year
    timetable.write_text("venue,course_id,title_zh,title_en,category,form,audience,staff_id,capacity,registration,"
                         "credit_rule,date,weekday,term_start,term_end,start,end\n" + "".join(
                             f"{VENUE},phone-basics,智能手机入门,Smartphone basics,science-tech,workshop,elderly,"
                             f"s-volunteer-01,30,none,standard,,{day},{year}-01-01,{year}-12-31,08:00,09:30\n"
                             for day in range(1, 8)), encoding="utf-8")
    processes.run("provision-programme", [*base, "programme", "import", str(timetable)])
    lost = 3
    processes.run("provision-revoke", [*base, "cards", "revoke", issued[lost]["card"], "--reason", "lost"])
    staff_qr = card.to_qr_text((home.path / "cards" / f"{volunteer['card']}.cose").read_bytes())
    return Cards(staff_qr, [(c["name"], c["qr_text"]) for c in issued], lost)


@dataclass
class Venue:
    """The running venue: county home, kiosk, broker, gateway, agent, LRS — and its cards."""

    folder: Path
    processes: Processes
    home: CountyHome
    kiosk_dir: Path
    cards: Cards
    gateway: Child
    agent: Child
    socket: Path
    lrs: Lrs | None

    @property
    def store(self) -> Path:
        return self.folder / "gateway.sqlite3"

    @property
    def journal(self) -> Path:
        return self.kiosk_dir / "state" / "journal.sqlite3"

    def forged_qr(self) -> str:
        """A card of the right county signed with the wrong key."""
        forged = card.Credential(COUNTY, int(time.time()), int(ids.learner_code(1)), os.urandom(8))
        return card.to_qr_text(card.issue(forged, keys.private_key_from_seed(os.urandom(32))))


def start_agent(processes: Processes, name: str, kiosk_dir: Path, debounce_seconds: int,
                timeout: float = 30) -> tuple[Child, Path]:
    """A kiosk agent from an enrolment bundle's folder, its control socket in a fresh folder."""
    socket = Path(tempfile.mkdtemp(prefix="lc-demo-")) / "agent.sock"
    agent = processes.learncard(name, [
        "-v", "kiosk", "--config", str(kiosk_dir / "kiosk.toml"), "--set", f"control.socket={socket}",
        "--set", f"rules.debounce_seconds={debounce_seconds}", "--set", "uplink.resend_after_seconds=5",
        "--set", "kiosk.trust_rtc=true", "agent"])  # a desktop's clock is set: the screen need not pause
    wait_for("the kiosk agent", socket.exists, timeout, agent)
    return agent, socket


@contextmanager
def open_venue(folder: Path, processes: Processes) -> Iterator[Venue]:
    """Provision the county and start every part, each as its own process, as in the field."""
    broker_port, metrics_port = free_port(), free_port()
    home, kiosk_dir, broker_conf = provision(processes, folder, broker_port)
    cards = issue_cards(processes, home)
    broker = processes.start("mosquitto", ["mosquitto", "-c", str(broker_conf)])
    wait_for("Mosquitto (TLS)", port_open(broker_port), 20, broker)
    lrs = Lrs().start() if lrs_installed() else None
    try:
        relay = ["--set", "lrs.enabled=true", "--set", f"lrs.endpoint={lrs.endpoint}", "--set",
                 "lrs.username=demo", "--set", "lrs.password=demo"] if lrs else []
        gateway = processes.learncard("gateway", [
            "-v", "gateway", "--config", str(home.path_of("gateway/gateway.toml")),
            "--set", f"store.url=sqlite:///{folder / 'gateway.sqlite3'}",
            "--set", f"gateway.metrics_port={metrics_port}", "--set", f"broker.port={broker_port}", *relay, "run"])
        wait_for("the gateway's /healthz", lambda: healthy(metrics_port), 30, gateway)
        agent, socket = start_agent(processes, "kiosk-agent", kiosk_dir, debounce_seconds=2)
        with ControlClient(socket) as client:
            wait_for("the kiosk to get the county's lists over MQTT",
                     lambda: client.call("state")["health"]["staff_roster_version"] >= 2
                     and client.call("state")["health"]["programme_version"] >= 1, 30, agent)
        yield Venue(folder, processes, home, kiosk_dir, cards, gateway, agent, socket, lrs)
    finally:
        if lrs is not None:
            lrs.stop()


def scripted_day(venue: Venue) -> dict[str, Any]:
    """A volunteer and residents at the kiosk, driven through the agent's control socket."""
    cards, scene = venue.cards, Scene()
    with ControlClient(venue.socket) as client:
        scene.say("kiosk", "online over mutual TLS; staff roster, revocation list and programme received from the "
                  "gateway")
        tap = client.call("tap", text=cards.staff)
        login = client.call("staff.login", card_id=tap["card_id"], pin=STAFF_PIN)
        scene.say("volunteer", "taps the staff card and types the PIN: staff mode open")
        session = client.call("session.open", token=login["token"], course_id="phone-basics", minutes=90)
        scene.say("volunteer", f"picks 《{session['course']}》 from the programme and opens it now")
        for name, qr in cards.residents:
            scene.say(name, tap_line(client.call("tap", text=qr)))
        again = client.call("tap", text=cards.residents[0][1])
        scene.say(cards.residents[0][0], "taps again at once: " + tap_line(again))
        result = client.call("tap", text=venue.forged_qr())
        scene.say("someone", "shows a forged card (right county, wrong key): " + tap_line(result))
        scene.say("someone", "shows a torn QR code: " + tap_line(client.call("tap", text=TORN_QR)))
        manual = client.call("attendance.manual", token=login["token"],
                             learner_code=ids.learner_code(330_100_999_999), reason="forgot-card", minutes=60)
        scene.say("volunteer", f"records a resident without a card (record {manual['record_id'][:8]}…)")
        walkin = client.call("walkin.enroll", token=login["token"], consent=True, minor=False)
        scene.say("volunteer", f"enrols a walk-in who read the privacy notice and agreed: temporary learner id "
                               f"{walkin['learner']}, signed slip {walkin['qr_text'][:12]}…")
        time.sleep(2.2)  # past the debounce window
        name, qr = cards.residents[1]
        out = client.call("tap", text=qr)
        scene.say(name, "leaves early: " + tap_line(out))
        client.call("rate", rating_for=out["rating_for"], score=5)
        scene.say(name, "rates the session ★★★★★")
        closed = client.call("session.close", token=login["token"], session_id=session["session_id"])
        scene.say("volunteer", f"closes the session: {closed['auto_checkouts']} checked out automatically")
        figures = client.call("figures", token=login["token"])
    return {**settle(venue), "figures": figures, "scene": scene}


def settle(venue: Venue) -> dict[str, Any]:
    """Wait until every record is settled at the gateway (and relayed), then stop the kiosk
    and the gateway. What the summary needs."""
    with ControlClient(venue.socket) as client:
        wait_for("the kiosk's outbox to empty (every record settled by a gateway receipt)",
                 lambda: client.call("state")["health"]["pending"] == 0, 60, venue.agent)
        snapshot = client.call("state")
    statements = statements_at(venue.lrs, venue.journal, venue.gateway) if venue.lrs else None
    venue.processes.stop(venue.agent)
    venue.processes.stop(venue.gateway)
    return {"health": snapshot["health"], "gateway_store": venue.store, "journal": venue.journal,
            "statements": statements}


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
    if not kiosk and "figures" in outcome:
        raise DemoError("the kiosk journal holds no records")
    if sorted(kiosk) != sorted(stored):
        raise DemoError(f"the gateway holds {len(stored)} records, the kiosk made {len(kiosk)}")
    health = outcome["health"]
    lines = [f"records made by the kiosk: {len(kiosk)} (epoch {health['epoch']}, chain head seq {health['seq']})",
             f"records verified and stored by the gateway: {len(stored)} — the same bytes, each once"]
    lines += [f"    {rtype:<22} {n}" for rtype, n in sorted(count_types(stored).items())]
    figures = outcome.get("figures")
    if figures:
        lines.append(f"today at the venue: {figures['checkins']} check-ins, {figures['checkouts']} check-outs, "
                     f"{figures['learners']} learners, {figures['minutes_credited']} minutes credited, "
                     f"{figures['rejected']} refused")
    lines.append(f"kiosk outbox: {health['pending']} pending; clock state {health['clock']}")
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

