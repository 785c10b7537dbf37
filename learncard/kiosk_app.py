"""Wiring of the kiosk agent: configuration → key, journal, county documents, rules,
readers, control socket, uplink. The only place that knows how the parts fit."""

from __future__ import annotations

import importlib
import logging
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.agent import Agent
from kiosk.certificate import file_warning
from kiosk.clock import Clock, DrivenClock
from kiosk.control import ControlServer
from kiosk.county_docs import FILES as COUNTY_FILES
from kiosk.county_docs import CountyDocuments
from kiosk.errors import AlreadyRunning, KioskError, ReaderUnavailable, SigningKeyMismatch
from kiosk.identity import check_signing_key
from kiosk.journal import Journal
from kiosk.reader.base import Reader
from kiosk.reader.simulated import SimulatedReader
from kiosk.signer import Signer, load_key
from kiosk.staff import StaffDesk
from kiosk.taps import TapRules
from kiosk.uplink import Uplink
from kiosk.walkin_slips import SlipMaker
from learncard import instance
from learncard.config import Config, ConfigError
from learncard.mqtt import connect_persistent, diagnose, mqtt_client, problem
from learncard.sdnotify import Notifier
from records import keys, record
from records.consent import Notice, parse_retention
from records.errors import MalformedError
from records.ids import is_valid_name
from records.record import parse_time

log = logging.getLogger(__name__)

# reader name -> (module, factory function taking the [readers] section)
READERS = {
    "nfc": ("kiosk.reader.nfc", "from_config"),
    "hid": ("kiosk.reader.hid", "from_config"),
    "camera": ("kiosk.reader.camera", "from_config"),
}


def state_path(cfg: Config, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else Path(cfg["kiosk"]["state_dir"]) / path


def privacy_notice(privacy: dict[str, Any]) -> Notice:
    """The county's privacy notice from the [privacy] settings (its words, version, and what the
    consent record names as collected, for what, for how long)."""
    try:
        return Notice(privacy["notice"], privacy["notice_zh"], privacy["notice_en"], tuple(privacy["collected"]),
                      tuple(privacy["purposes"]), parse_retention(privacy["retention_days"]), privacy["guardian_age"])
    except ValueError as err:
        raise ConfigError(str(err)) from err


def make_readers(cfg: Config) -> list[Reader]:
    readers: list[Reader] = []
    for name in cfg["readers"]["enabled"]:
        if name == "simulated":
            readers.append(SimulatedReader())
            continue
        if name not in READERS:
            raise ConfigError(f"readers.enabled: unknown reader {name!r} (simulated, nfc, hid, camera)")
        module_name, factory = READERS[name]
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise ReaderUnavailable(f"读卡器 {name} 的软件没有安装",
                                    f"the {name} reader's software is not installed ({err})") from err
        readers.append(getattr(module, factory)(cfg["readers"]))
    return readers


@dataclass
class KioskApp:
    cfg: Config
    agent: Agent
    journal: Journal
    server: ControlServer
    readers: list[Reader]
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    uplink: Uplink | None = None
    lock: instance.InstanceLock | None = None

    def start(self) -> None:
        self.agent.catch_up()  # what fell due while the agent was off, before the first tap
        self.threads.append(self.server.serve_in_thread())
        ticker = threading.Thread(target=self._tick, name="tick", daemon=True)
        ticker.start()
        self.threads.append(ticker)
        for reader in self.readers:
            self.threads.append(self.agent.run_reader(reader, self.stop))
        if self.cfg["uplink"]["host"]:
            self.uplink = start_uplink(self.cfg, self.agent, self.journal)
        warn_certificate(self.cfg, None, self.agent)  # for `status` and the staff screen from the start

    def _tick(self) -> None:
        while not self.stop.wait(0.5):
            self.agent.tick()

    def run_until_stopped(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop.set())
        notifier = Notifier()
        reload_wanted = threading.Event()
        signal.signal(signal.SIGHUP, lambda *_: reload_wanted.set())
        notifier.ready(f"journal open; control socket {self.server.path}")
        warn_certificate(self.cfg, notifier, self.agent)
        last_check = time.monotonic()
        notifier.watch(lambda: journal_trouble(self.agent, self.journal), self.stop)
        while not self.stop.wait(0.5):
            if time.monotonic() - last_check > CERTIFICATE_CHECK_SECONDS:
                warn_certificate(self.cfg, notifier, self.agent)
                last_check = time.monotonic()
            if reload_wanted.is_set():
                reload_wanted.clear()
                notifier.reloading()
                reload_county_files(self.agent.docs)
                notifier.send("READY=1", f"STATUS=county files re-read; control socket {self.server.path}")
        notifier.stopping("stopping")
        self.close()

    def close(self) -> None:
        self.stop.set()
        if self.uplink is not None:
            self.uplink.stop()
        self.server.close()
        self.journal.close()
        if self.lock is not None:
            self.lock.release()
        log.info("kiosk agent stopped")


CERTIFICATE_CHECK_SECONDS = 12 * 3600


def warn_certificate(cfg: Config, notifier: Notifier | None, agent: Agent) -> None:
    """Staff are warned 60 days before the TLS certificate ends: a WARNING in the log, the
    unit's STATUS line, ``status`` (``health.certificate``) and the staff screen."""
    path = cfg["uplink"]["cert_file"]
    if not (cfg["uplink"]["tls"] and path):
        return
    warning = file_warning(Path(path), datetime.now(UTC))
    agent.set_certificate_warning(warning)
    if warning is not None:
        log.warning("%s", warning[1])
        if notifier is not None:
            notifier.status(f"{warning[0]} / {warning[1]}")


def journal_trouble(agent: Agent, journal: Journal) -> str | None:
    """Why the agent cannot record a tap right now, or None: an empty write transaction on
    the agent's own connection (under its lock), which waits on a journal wedged by a lock
    the way a tap would. A full journal is not trouble a restart mends: it is not reported."""
    try:
        with agent.lock, journal.transaction(new_records=False):
            pass
    except KioskError as err:
        return f"journal not answering: {err}"
    return None


def reload_county_files(docs: CountyDocuments) -> None:
    """SIGHUP (``systemctl reload``): take the county files in the state folder again, e.g.
    after ``install-bundle`` placed newer ones; older or unverifiable ones are ignored."""
    for kind, name in COUNTY_FILES.items():
        path = docs.state_dir / name
        if path.exists():
            docs.update(kind, path.read_text().strip(), persist=False)
    log.info("SIGHUP: county files re-read from %s", docs.state_dir)


def start_uplink(cfg: Config, agent: Agent, journal: Journal) -> Uplink:
    """The uplink on its own journal connection (WAL: the agent keeps writing meanwhile)."""
    u = cfg["uplink"]
    # the client id is the kiosk id = its certificate's CN (the broker enforces it)
    client = mqtt_client(u, cfg["kiosk"]["id"])
    # jitter per kiosk: a province of kiosks must not come back in step after a broker restart
    client.reconnect_delay_set(min_delay=random.randint(1, 3), max_delay=60)  # noqa: S311

    def why(refused: str | None) -> dict[str, str]:
        return problem("broker-refused", refused) if refused else diagnose(u, u["host"], u["port"])

    uplink = Uplink(client, Journal.open(journal.path, max_bytes=journal.max_bytes), cfg["kiosk"]["id"], agent,
                    lambda: agent.snapshot()["health"], batch_size=u["batch_size"], window=u["window"],
                    resend_after=u["resend_after_seconds"], max_rtt=u["clock_max_rtt_seconds"],
                    mono_ns=agent.clock.mono_ns, diagnose=why, venue=cfg["kiosk"]["venue"])
    connect_persistent(client, u["host"], u["port"])
    agent.after_commit.append(uplink.wake)
    uplink.start()
    return uplink


def lock_state(state_dir: Path) -> instance.InstanceLock:
    """This agent's claim on its state folder; a second agent stops here, touching nothing."""
    path = state_dir / "agent.lock"
    try:
        lock = instance.acquire(path)
    except OSError as err:
        raise KioskError(f"无法创建锁文件 {path}", f"cannot create the lock file {path}: {err}") from err
    if lock is None:
        pid = instance.holder(path)
        raise AlreadyRunning(f"另一个终端程序（进程 {pid}）正在使用 {state_dir}；本程序未做任何改动就退出了",
                             f"another kiosk agent (pid {pid}) is running on {state_dir}; "
                             "this one exits without touching anything")
    return lock


def make_clock(k: dict[str, Any], state_dir: Path) -> Clock:
    """The system clock; or, for tests only, a driven clock (``kiosk.driven_clock``)."""
    if not k["driven_clock"]:
        return Clock(k["timezone"], trust_rtc=k["trust_rtc"], trusted_file=state_dir / "trusted-time")
    try:
        start = parse_time(k["driven_clock"])
    except ValueError as err:
        raise ConfigError(f"kiosk.driven_clock {k['driven_clock']!r} is not RFC 3339") from err
    log.warning("the wall clock is DRIVEN from %s (a test setting: never on a real kiosk)", start.isoformat())
    return DrivenClock(k["timezone"], start)


def build(cfg: Config) -> KioskApp:
    k = cfg["kiosk"]
    for name in ("id", "venue"):
        if not is_valid_name(k[name]):
            raise ConfigError(f"kiosk.{name} {k[name]!r} must match [a-z0-9-]{{3,40}}")
    try:
        issuer = keys.public_key_from_text(cfg["county"]["issuer_public_key"])
    except MalformedError as err:
        raise ConfigError("county.issuer_public_key is not an Ed25519 public key (base64url)") from err
    state_dir = Path(k["state_dir"])
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise KioskError(f"无法创建数据目录 {state_dir}", f"cannot create the state folder {state_dir}: {err}") from err
    lock = lock_state(state_dir)
    try:
        app = _build(cfg, state_dir, issuer)
    except BaseException:
        lock.release()
        raise
    app.lock = lock
    return app


def make_slips(cfg: Config, signer: Signer) -> SlipMaker:
    """Walk-in slips: signed by this kiosk, printed on ``[printer].device`` when one is set.
    A printer that cannot be opened is logged; the slip then stays on screen."""
    from kiosk.errors import PrinterUnavailable
    from kiosk.slip_printer import SlipPrinter, open_printer

    p = cfg["printer"]
    printer = None
    try:
        device = open_printer(p["device"])
        printer = None if device is None else SlipPrinter(device, p["paper_mm"])
    except PrinterUnavailable as err:
        log.warning("walk-in slip printer: %s", err.en)
    k = cfg["kiosk"]
    return SlipMaker(signer, cfg["county"]["id"], k["venue_name"] or k["venue"], p["slip_days"], printer)


def _build(cfg: Config, state_dir: Path, issuer: Ed25519PublicKey) -> KioskApp:
    k = cfg["kiosk"]
    rules = cfg["rules"]
    if rules["no_session"] not in ("self-study", "refuse"):
        raise ConfigError("rules.no_session must be self-study or refuse")
    clock = make_clock(k, state_dir)
    key = load_key(Path(k["key_path"]))
    try:
        check_signing_key(key, k["signing_public_key"], k["id"])
        refusal = None
    except SigningKeyMismatch as err:
        log.error("%s", err.en)  # the agent runs, so the screen and `status` can say what to do
        refusal = err
    signer = Signer(key, record.Origin(k["id"], k["venue"], k["key_version"], clock.bootid), clock, refusal)
    journal = Journal.open(state_path(cfg, cfg["journal"]["path"]), max_bytes=cfg["journal"]["max_bytes"])
    docs = CountyDocuments(state_dir, cfg["county"]["id"], issuer, venue=k["venue"])
    staff = StaffDesk(docs, k["venue"], journal, attempts=rules["staff_pin_attempts"],
                      lockout_seconds=rules["staff_lockout_seconds"],
                      idle_seconds=rules["staff_idle_lock_seconds"])
    agent = Agent(journal=journal, signer=signer, docs=docs, clock=clock,
                  rules=TapRules(rules["debounce_seconds"], rules["no_session"]),
                  staff=staff, venue_name=k["venue_name"], language=cfg["ui"]["language"],
                  checkpoint_seconds=cfg["uplink"]["checkpoint_seconds"], notice=privacy_notice(cfg["privacy"]))
    agent.venue.slips = make_slips(cfg, signer)
    readers = make_readers(cfg)
    server = ControlServer(Path(cfg["control"]["socket"]), agent)
    journal.prune(int(clock.now().wall.timestamp() * 1000), cfg["journal"]["retention_days"])
    return KioskApp(cfg, agent, journal, server, readers)
