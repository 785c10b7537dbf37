"""Simulated kiosks for the fleet simulator and the scale tests: many kiosks in one process,
each with its own key, its own chain of signed records and its own MQTT session.

A ``SimKiosk`` behaves towards the gateway as the real uplink does (``kiosk/uplink.py``):
records in ``seq`` order, up to ``batch_size`` per message, at most ``window`` messages
waiting for a receipt; a record is settled only by a receipt (``upto``); ``missing`` and
``cmd/resend`` are answered at once, beside the window; anything unsettled
``resend_after`` seconds after it was sent is offered again, and so is the whole outbox
after a reconnection. What it leaves out is the kiosk's journal (the outbox is in memory)
and its readers: it measures the path from a tap's signed record to the gateway's commit.

All of a ``Fleet``'s clients are driven by one thread with paho's external loop
(``loop_read``/``loop_write``/``loop_misc`` over ``select``), so a few processes carry a
thousand kiosks without a thousand threads. Each turn of that loop steps only the kiosks that
have something to do (a tap, a message read, a write left over); every kiosk is stepped (its
resend timer), and its keepalive kept, a few times a second. Stepping all of them on every
turn made the simulator itself the load: on 2 cores it took the CPU the gateway under test
needed.
"""

from __future__ import annotations

import json
import os
import select
import ssl
import time
import urllib.request
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion

from learncard.mqtt import _no_delay
from provisioning import ca
from provisioning.home import CountyHome
from records import keys, record
from records.county import KIOSK_ACTIVE
from records.ids import learner_code, uuid7


@dataclass
class SimStats:
    made: int = 0
    messages: int = 0
    records_sent: int = 0
    receipts: int = 0
    missing_asked: int = 0  # ranges asked for in receipts
    resend_commands: int = 0  # cmd/resend received
    records_resent: int = 0  # records sent again (asked, expired or after a reconnection)
    expired: int = 0
    connects: int = 0


@dataclass
class SimKiosk:
    kiosk: str
    venue: str
    key: Ed25519PrivateKey
    window: int = 8
    batch_size: int = 200
    resend_after: float = 30.0
    seq: int = 0
    head: str = ""
    upto: int = 0
    outbox: OrderedDict[int, str] = field(default_factory=OrderedDict)  # seq → token, unsettled
    inflight: list[tuple[int, int, float]] = field(default_factory=list)  # (first, last, sent at)
    cursor: int = 0  # the last seq offered since the outbox was last offered from its start
    max_sent: int = 0  # the highest seq ever sent: what is sent at or below it is sent again
    taps: dict[str, float] = field(default_factory=dict)  # record id → wall time of the tap (s)
    live: set[str] = field(default_factory=set)  # ids of records made while connected (latency counts)
    ids: dict[int, str] = field(default_factory=dict)  # seq → record id, while unsettled
    settled_at: dict[str, float] = field(default_factory=dict)  # record id → wall time its receipt arrived
    stats: SimStats = field(default_factory=SimStats)
    client: mqtt.Client | None = None
    online: bool = False
    touched: set[str] | None = None  # set by a Fleet: kiosks to step on its next turn
    bootid: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def topic(self) -> str:
        return f"lc/v1/{self.kiosk}"

    # --- making records --------------------------------------------------------------------

    def tap(self, *, live: bool = True, relayed: bool = False) -> str:
        """Sign the next record of the chain and put it in the outbox; returns its id.
        ``relayed``: a resident's rating (it becomes an xAPI statement, and names no staff
        and credits no minutes, so the gateway's plausibility checks never hold it), else a
        checkpoint (the smallest record; the gateway relays none)."""
        now = time.time()
        self.seq += 1
        moment = datetime.fromtimestamp(now, UTC)
        if relayed:
            kind, data = "rating", {"learner": learner_code(int.from_bytes(os.urandom(5)) % 10**12),
                                    "session_id": None, "score": 4}
        else:
            kind, data = "kiosk.checkpoint", {"pending": len(self.outbox), "journal_bytes": 0}
        event = record.build(
            origin=record.Origin(self.kiosk, self.venue, 1, self.bootid), record_type=kind, data=data,
            record_id=uuid7(int(now * 1000), os.urandom(10)), time=moment, mono_ns=time.monotonic_ns(),
            clock="ntp", epoch=1, seq=self.seq, prev=self.head)
        rec = record.sign(event, self.key, f"{self.kiosk}/1")
        self.head = rec.hash
        self.outbox[self.seq] = rec.token
        self.ids[self.seq] = rec.id
        self.taps[rec.id] = now
        if live:
            self.live.add(rec.id)
        self.stats.made += 1
        if self.touched is not None:
            self.touched.add(self.kiosk)
        return rec.id

    # --- MQTT ------------------------------------------------------------------------------

    def connect(self, port: int, tls: Tls | None = None) -> None:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.kiosk, protocol=mqtt.MQTTv5)
        if tls is not None:  # as the kiosk connects: the county CA, its own certificate, the server's name
            context = ssl.create_default_context(cafile=str(tls.ca))
            context.load_cert_chain(str(tls.cert), str(tls.key))
            c.tls_set_context(context)
        c.on_socket_open = _no_delay
        c.on_connect = self._on_connect
        c.on_disconnect = lambda *a: setattr(self, "online", False)
        c.on_message = self._on_message
        c.connect("localhost" if tls is not None else "127.0.0.1", port, keepalive=60, clean_start=True)
        self.client = c

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        if rc.is_failure:
            return
        client.subscribe([(f"{self.topic}/ack", 1), (f"{self.topic}/cmd/resend", 1)])
        self.online = True
        self.stats.connects += 1
        self.inflight.clear()
        self.cursor = self.upto  # offer the whole outbox again

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            body = json.loads(message.payload)
        except ValueError:
            return
        if message.topic.endswith("/ack"):
            self.on_receipt(body)
        elif message.topic.endswith("/cmd/resend"):
            self.stats.resend_commands += 1
            self.resend(int(body["from"]), int(body["to"]))

    def on_receipt(self, receipt: dict[str, Any]) -> None:
        if "error" in receipt:
            return
        self.stats.receipts += 1
        upto = int(receipt["upto"])
        if upto > self.upto:
            now = time.time()
            for seq in range(self.upto + 1, upto + 1):
                self.outbox.pop(seq, None)
                record_id = self.ids.pop(seq, None)
                if record_id is not None:
                    self.settled_at[record_id] = now
            self.upto = upto
            self.cursor = max(self.cursor, upto)
        self.inflight = [f for f in self.inflight if f[1] > upto]
        for lo, hi in receipt.get("missing", []):
            self.stats.missing_asked += 1
            self.resend(int(lo), int(hi))

    def resend(self, first: int, last: int) -> None:
        seqs = [s for s in range(max(first, self.upto + 1), last + 1) if s in self.outbox]
        for i in range(0, len(seqs), self.batch_size):
            part = seqs[i:i + self.batch_size]
            self._publish(part)

    def _publish(self, seqs: list[int]) -> None:
        assert self.client is not None
        self.client.publish(f"{self.topic}/rec", "\n".join(self.outbox[s] for s in seqs), qos=1)
        self.stats.messages += 1
        self.stats.records_sent += len(seqs)
        self.stats.records_resent += sum(1 for s in seqs if s <= self.max_sent)
        self.max_sent = max(self.max_sent, seqs[-1])

    def step(self, now: float) -> None:
        """Expire what waited too long, then fill the window."""
        if not self.online:
            return
        if any(now - sent > self.resend_after for _, _, sent in self.inflight):
            self.stats.expired += 1
            self.inflight.clear()
            self.cursor = self.upto
        while len(self.inflight) < self.window:
            # the outbox is in seq order: what follows the cursor is what was not offered yet
            seqs = []
            for seq in range(max(self.cursor, self.upto) + 1, self.seq + 1):
                if seq in self.outbox:
                    seqs.append(seq)
                    if len(seqs) >= self.batch_size:
                        break
            if not seqs:
                return
            self._publish(seqs)
            self.inflight.append((seqs[0], seqs[-1], now))
            self.cursor = seqs[-1]

    def unsettled(self) -> int:
        return len(self.outbox)


@dataclass(frozen=True)
class Tls:
    ca: Path
    cert: Path
    key: Path


def enrol(home_path: Path, venues: dict[str, str], seeds: dict[str, bytes]) -> tuple[CountyHome, dict[str, Tls]]:
    """A county home (``provision init``) with every kiosk enrolled as ``provision enroll``
    would — its signing key in the registry, a TLS certificate from the county's kiosk CA —
    in one registry version (one save for the whole fleet, not one per kiosk)."""
    home = CountyHome.init(home_path, "county-fleet", "https://learn.fleet.example", ["localhost"])
    ca_cert, ca_key = home.kiosk_ca()  # kiosk client certificates come from the kiosk CA
    body = dict(home.load_document("registry").body)
    kiosks, places = dict(body["kiosks"]), dict(body["venues"])
    tls: dict[str, Tls] = {}
    folder = home_path / "fleet"
    folder.mkdir()
    for kiosk, venue in venues.items():
        places.setdefault(venue, {"name": venue, "level": "village-station", "timezone": "Asia/Shanghai"})
        kiosks[kiosk] = {"venue": venue, "level": "village-station", "status": KIOSK_ACTIVE,
                         "keys": {"1": keys.public_key_text(keys.private_key_from_seed(seeds[kiosk]))}}
        key = ca.new_key()
        (folder / f"{kiosk}.key").write_bytes(ca.key_pem(key))
        (folder / f"{kiosk}.pem").write_bytes(ca.cert_pem(ca.sign_kiosk(ca_cert, ca_key, kiosk, key.public_key())))
        tls[kiosk] = Tls(home.path_of("device-ca.pem"), folder / f"{kiosk}.pem", folder / f"{kiosk}.key")
    body.update(kiosks=kiosks, venues=places)
    home.save_document("registry", body)
    return home, tls


class Fleet:
    """Many ``SimKiosk`` clients driven by one thread (paho's external loop)."""

    SWEEP_S = 0.2  # every kiosk is stepped and its keepalive kept this often

    def __init__(self, kiosks: list[SimKiosk], port: int, tls: dict[str, Tls] | None = None) -> None:
        self.kiosks = kiosks
        self.port = port
        self.tls = tls or {}
        self._by_name = {k.kiosk: k for k in kiosks}
        self._touched: set[str] = set()
        for k in kiosks:
            k.touched = self._touched
        self._writing: set[str] = set()  # kiosks with bytes paho could not write yet
        self._swept = 0.0

    def connect_all(self, timeout: float = 120.0) -> None:
        for k in self.kiosks:
            k.connect(self.port, self.tls.get(k.kiosk))
        self.run_until(lambda: all(k.online for k in self.kiosks), timeout)

    def disconnect_all(self) -> None:
        for k in self.kiosks:
            if k.client is not None:
                k.client.disconnect()
        self.pump(0.2)
        for k in self.kiosks:
            k.online = False

    def reconnect_all(self) -> None:
        for k in self.kiosks:
            assert k.client is not None
            k.client.reconnect()
        self._swept = 0.0  # step everyone on the next turn

    def pump(self, seconds: float) -> None:
        """Run the network and the kiosks' steps for ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            self._once(min(0.05, max(0.0, deadline - time.monotonic())))
            if time.monotonic() >= deadline:
                return

    def run_until(self, done: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                return False
            self._once(0.05)
        return True

    def _once(self, wait: float) -> None:
        now = time.time()
        sweep = time.monotonic() - self._swept >= self.SWEEP_S
        if sweep:
            self._swept = time.monotonic()
            stepping = self.kiosks
        else:
            stepping = [self._by_name[name] for name in self._touched]
        self._touched.clear()
        for k in stepping:
            if k.client is not None:
                k.step(now)
                if k.client.want_write():
                    self._writing.add(k.kiosk)
        socks: dict[Any, SimKiosk] = {}
        for k in self.kiosks:
            sock = k.client.socket() if k.client is not None else None
            if sock is not None:
                socks[sock] = k
        writers = [s for s, k in socks.items() if k.kiosk in self._writing]
        if socks:
            readable, writable, _ = select.select(list(socks), writers, [], wait)
            for sock in readable:
                k = socks[sock]
                k.client.loop_read()  # type: ignore[union-attr]
                self._touched.add(k.kiosk)  # a receipt may open its window
            for sock in writable:
                socks[sock].client.loop_write()  # type: ignore[union-attr]
            for sock in set(readable) | set(writable):
                k = socks[sock]
                if k.client is not None and k.client.want_write():
                    self._writing.add(k.kiosk)
                else:
                    self._writing.discard(k.kiosk)
        elif wait:
            time.sleep(wait)
        if sweep:
            for k in self.kiosks:
                if k.client is not None:
                    k.client.loop_misc()


def metric(port: int, name: str) -> float:
    """A gateway's Prometheus figure (a counter's ``_total``; summed over labels)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()  # noqa: S310
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.split(" ")[0].split("{")[0] in (name, f"{name}_total"))


def healthy(port: int) -> bool:
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200  # noqa: S310
    except OSError:
        return False
