"""Wiring of the gateway: configuration → store, county files, ingest, MQTT client,
metrics; signals (SIGHUP reloads the county files, SIGTERM stops cleanly)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt

from gateway import sun_check
from gateway.county_files import CountyFiles
from gateway.errors import AlreadyRunning, GatewayError
from gateway.inbox import Bounds
from gateway.ingest import Ingest
from gateway.lease import Lease
from gateway.lrs import LrsClient
from gateway.metrics import Metrics, serve
from gateway.plausibility import Limits as PlausibilityLimits
from gateway.relay import Relay, adopt_legacy, deadletter_rows
from gateway.service import GatewayService, Limits
from gateway.store import Store
from learncard import instance
from learncard.config import Config, ConfigError
from learncard.mqtt import connect_persistent, mqtt_client
from learncard.sdnotify import Notifier
from records import keys
from records.errors import MalformedError, SunError

log = logging.getLogger(__name__)


@dataclass
class GatewayApp:
    service: GatewayService
    client: mqtt.Client
    store: Store
    metrics_server: object | None
    relay: Relay | None = None
    pairer: Callable[[], object] | None = None  # pairs unpaired check-outs (gateway/pairing.py)
    pair_every: float = 30.0
    lock: instance.InstanceLock | None = None
    poll_seconds: float = 3.0  # how often the county files' modification times are looked at
    months_every: float = 86400.0  # PostgreSQL: the next months' partitions of records, made daily
    months_retry: float = 600.0  # … and again this soon after a failed pass (a lock it did not get)
    store_url: str = ""

    def run(self) -> None:
        reload_wanted = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: self.service.shutdown())
        signal.signal(signal.SIGINT, lambda *_: self.service.shutdown())
        signal.signal(signal.SIGHUP, lambda *_: reload_wanted.set())

        def reloader() -> None:
            last_poll = time.monotonic()
            while not self.service.stop.is_set():
                if reload_wanted.wait(0.5):
                    reload_wanted.clear()
                    log.info("SIGHUP: reloading the county files")
                    Notifier().reloading()
                    self.service.reload()
                    Notifier().send("READY=1", "STATUS=county files reloaded; ingesting")
                elif self.poll_seconds and time.monotonic() - last_poll >= self.poll_seconds:
                    last_poll = time.monotonic()
                    if self.service.county.changed_on_disk():
                        log.info("a county file changed on disk: reloading")
                        self.service.reload()

        threading.Thread(target=reloader, name="reload", daemon=True).start()
        if self.store.d.name == "postgresql":
            threading.Thread(target=self._months, name="partitions", daemon=True).start()
        if self.pairer is not None:
            threading.Thread(target=self._pair, name="pairing", daemon=True).start()
        if self.relay is not None:
            threading.Thread(target=self.relay.run, name="relay", daemon=True).start()
            threading.Thread(target=self._relay_metrics, name="relay-metrics", daemon=True).start()
        self.client.loop_start()
        notifier = Notifier()
        threading.Thread(target=self._announce, args=(notifier,), name="sd-notify", daemon=True).start()
        try:
            self.service.run()
        finally:
            notifier.stopping("stopping")
            if self.relay is not None:
                self.relay.stop.set()
            self.service.outgoing.close(self.service.connected)  # receipts out before the thread ends
            self.store.close()
            if self.lock is not None:
                self.lock.release()
            log.info("gateway stopped")


    def _announce(self, notifier: Notifier) -> None:
        """READY=1 once the store is open (it is, by now) and the broker session is up; then
        the watchdog, fed only while :func:`gateway_trouble` finds nothing wrong."""
        notifier.status("store open; connecting to the broker")
        while not self.service.connected.wait(1.0):
            if self.service.stop.is_set():
                return
        notifier.ready("ingesting: store open, broker session up")
        probe = Store.open(self.store_url) if self.store_url and notifier.watchdog_seconds else None
        notifier.watch(lambda: gateway_trouble(self.service, probe), self.service.stop)

    def _pair(self) -> None:
        assert self.pairer is not None
        while not self.service.stop.wait(self.pair_every):
            try:
                self.pairer()
            except Exception:  # a pairing fault must not stop the gateway; the next pass retries  # noqa: BLE001
                log.exception("pairing unpaired check-outs failed")

    def _months(self) -> None:
        """Make this month's partition of ``records`` and the next two, daily (the store made
        them at start; an insert never fails for want of one: it lands in records_default)."""
        wait = self.months_every
        while not self.service.stop.wait(wait):
            try:
                self.store.ensure_months()
                wait = self.months_every
            except Exception:  # records go to records_default meanwhile; tried again soon  # noqa: BLE001
                log.exception("making the next months' partitions of records failed; trying again in %.0f s",
                              self.months_retry)
                wait = self.months_retry

    def _relay_metrics(self) -> None:
        relay, m = self.relay, self.service.metrics
        assert relay is not None
        while not self.service.stop.wait(2.0):
            try:
                m.relay_holder.set(1 if relay.lease is None or relay.lease.holding else 0)
                m.relayed.set(relay.stats.delivered)
                m.deadletters.set(len(deadletter_rows(self.store)))
                m.relay_lag.set(relay.lag())
                m.breaker_open.set(1 if relay.breaker.state == "open" else 0)
            except Exception:  # metrics must never stop the gateway  # noqa: BLE001
                log.debug("relay metrics failed", exc_info=True)


def gateway_trouble(service: GatewayService, probe: Store | None) -> str | None:
    """What stops the gateway from working right now, or None. The store is probed with a
    write transaction on a connection of its own: a store wedged by a lock holds it (and so
    the watchdog) back, where a read would pass under WAL."""
    healthy, reasons = service.health()
    if not healthy:
        return "; ".join(reasons)
    if probe is not None:
        try:
            with probe.tx():
                pass
        except Exception as err:  # noqa: BLE001 (sqlite3 and psycopg errors alike)
            return f"store not answering: {err}"
    return None


def make_relay(cfg: Config, store: Store, county: CountyFiles | None = None) -> Relay | None:
    lrs = cfg["lrs"]
    if not lrs["enabled"]:
        return None
    if not lrs["endpoint"] or not lrs["home_page"]:
        raise ConfigError("lrs.endpoint and lrs.home_page are needed when lrs.enabled is true")
    client = LrsClient(lrs["endpoint"], lrs["username"], lrs["password"], lrs["version"])
    adopt_legacy(store, client.endpoint)  # a store from before per-endpoint progress
    purpose_of = (lambda signer: county.registry().purpose_of(signer)) if county is not None else None
    return Relay(store, client, lrs["home_page"], batch_size=lrs["batch_size"], lease=Lease(store, "relay"),
                 purpose_of=purpose_of)


RUN_DIR = Path("/run/learncard")


def lock_path(cfg: Config) -> Path:
    """Beside a SQLite store (one gateway per file); per client id for PostgreSQL (workers
    share the database, but two with one client id knock each other off the broker)."""
    if cfg["gateway"]["lock_file"]:
        return Path(cfg["gateway"]["lock_file"])
    url = cfg["store"]["url"]
    if url.startswith("sqlite:///"):
        store = Path(url[len("sqlite:///") - 1:])
        return store.with_name(store.name + ".lock")
    return RUN_DIR / f"gateway-{cfg['gateway']['client_id']}.lock"


def lock_instance(cfg: Config) -> instance.InstanceLock:
    """This gateway's claim; a second one stops here, before it opens the store or the broker."""
    path = lock_path(cfg)
    try:
        lock = instance.acquire(path)
    except OSError as err:
        raise GatewayError(f"无法创建锁文件 {path} / cannot create the lock file {path}: {err}") from err
    if lock is None:
        pid = instance.holder(path)
        raise AlreadyRunning(f"另一个网关（进程 {pid}）已在运行（锁 {path}）；本程序未做任何改动就退出了 / "
                             f"another gateway (pid {pid}) is running (lock {path}); "
                             "this one exits without touching anything")
    return lock


def limits(cfg: Config) -> Limits:
    g = cfg["gateway"]
    names = ("receive_maximum", "inbox_max_messages", "inbox_max_bytes", "inbox_kiosk_messages",
             "inbox_kiosk_bytes", "status_max_bytes", "error_receipts_per_minute", "error_receipts_burst")
    for name in names:
        if g[name] < 1:
            raise ConfigError(f"gateway.{name} must be at least 1")
    if g["receive_maximum"] > 65535:
        raise ConfigError("gateway.receive_maximum must be at most 65535 (MQTT 5)")
    bounds = Bounds(g["inbox_max_messages"], g["inbox_max_bytes"], g["inbox_kiosk_messages"], g["inbox_kiosk_bytes"])
    return Limits(bounds, g["status_max_bytes"], g["error_receipts_per_minute"] / 60, g["error_receipts_burst"])


def build(cfg: Config) -> GatewayApp:
    lock = lock_instance(cfg)
    try:
        app = _build(cfg)
    except BaseException:
        lock.release()
        raise
    app.lock = lock
    return app


def county_files(cfg: Config) -> CountyFiles:
    """The county's signed files as the gateway's configuration names them, loaded."""
    g = cfg["gateway"]
    try:
        issuer = keys.public_key_from_text(g["issuer_public_key"])
    except MalformedError as err:
        raise ConfigError("gateway.issuer_public_key is not an Ed25519 public key (base64url)") from err
    county = CountyFiles(g["county"], issuer, {"registry": Path(g["registry"]),
                                               "revoked-cards": Path(g["revoked_cards"]),
                                               "staff": Path(g["staff"]),
                                               "programme": Path(g["programme"]),
                                               "credit-rules": Path(g["credit_rules"])})
    county.load(first=True)
    return county


def make_ingest(cfg: Config, store: Store, county: CountyFiles) -> Ingest:
    """The ingest with every check the configuration asks for (also for `rejected replay`)."""
    g = cfg["gateway"]
    try:
        sun = sun_check.from_config(g)
    except SunError as err:
        raise ConfigError(f"gateway.sun_master_key: {err}") from err
    if g["gap_grace_seconds"] < 0:
        raise ConfigError("gateway.gap_grace_seconds must not be negative")
    ingest = Ingest(store, county, lambda: datetime.now(UTC), sun, max_ahead=g["max_seq_ahead"],
                    max_refused=g["max_refused_per_kiosk"], gap_grace=g["gap_grace_seconds"])
    ingest.plausibility.limits = PlausibilityLimits(**cfg["plausibility"])
    return ingest


def _build(cfg: Config) -> GatewayApp:
    g, b = cfg["gateway"], cfg["broker"]
    county = county_files(cfg)
    store = Store.open(cfg["store"]["url"])
    ingest = make_ingest(cfg, store, county)
    metrics = Metrics()
    client = mqtt_client(b, g["client_id"])
    service = GatewayService(client, ingest, store, county, metrics, g["share_group"], limits(cfg))
    server = None
    if g["metrics_port"]:
        server = serve(metrics, g["metrics_host"], g["metrics_port"], service.health)
    # its own connection: ingest never waits for it
    relay = make_relay(cfg, Store.open(cfg["store"]["url"]), county)
    connect_persistent(client, b["host"], b["port"], receive_maximum=g["receive_maximum"])
    return GatewayApp(service, client, store, server, relay, make_pairer(cfg, county), float(g["pair_every_seconds"]),
                      poll_seconds=g["county_poll_seconds"], store_url=cfg["store"]["url"])


def make_pairer(cfg: Config, county: CountyFiles) -> Callable[[], object] | None:
    """Unpaired check-outs paired with the county corrections key, when the gateway holds it."""
    from gateway.corrections import CorrectionError, CountySigner
    from gateway.pairing import pair_unpaired
    from kiosk.clock import boot_id, kernel_synchronized

    key_file = Path(cfg["gateway"]["corrections_key"])
    if not cfg["gateway"]["pair_every_seconds"] or not key_file.exists():
        log.info("no corrections key at %s: unpaired check-outs are paired by `learncard gateway pair`", key_file)
        return None
    try:
        signer = CountySigner.load(key_file.read_bytes(), county.registry())
    except CorrectionError as err:
        log.error("gateway.corrections_key: %s — unpaired check-outs are not paired until this is fixed", err)
        return None
    store = Store.open(cfg["store"]["url"])  # its own connection, like the relay's
    ingest = make_ingest(cfg, store, county)
    bootid = boot_id()
    return lambda: pair_unpaired(store, ingest, signer, lambda s: county.registry().purpose_of(s),
                                 now=lambda: datetime.now(UTC).astimezone(), bootid=bootid,
                                 clock="ntp" if kernel_synchronized() else "rtc")
