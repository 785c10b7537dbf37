"""The kiosk's uplink: send the journal's outbox to the gateway over MQTT and settle records
only when a gateway receipt says so (a broker PUBACK settles nothing).

One thread does all the work; paho's callbacks only put what arrives on a queue. Records go
in ``seq`` order, one per line, up to ``batch_size`` per message, at most ``window``
messages waiting for a receipt. Anything not settled ``resend_after`` seconds after it was
sent is sent again (the gateway stores it once). On every (re)connection the whole outbox is
offered again from its start: the broker may have lost what it had not saved.

Clock: each ``rec`` message carries this kiosk's boot id and monotonic send time as MQTT 5
correlation data, which the gateway hands back on the receipt. A receipt's ``time`` moves
the wall clock only when that round trip was measured here and is short (``max_rtt``): a
receipt queued while the kiosk was offline, or delayed, never moves it.

A receipt settles only when its ``head`` matches this kiosk's own record (the journal
checks); one that does not raises an alarm in ``status``. When the gateway does not know this
kiosk or its key yet (``unknown-kiosk`` / ``unknown-key``: enrolled a minute ago, a registry
not yet reloaded), the records stay pending, ``status`` says so, and the outbox is offered
again with a growing pause until a receipt comes.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from kiosk.clock import boot_id
from kiosk.errors import ReceiptMismatch
from kiosk.journal import Journal
from records.county_pages import COUNTY_PAGE, SCHEMES, index_kind, page_kind

log = logging.getLogger(__name__)

COUNTY_TOPICS = {"lc/v1/county/revoked-cards": "revoked-cards", "lc/v1/county/staff": "staff",
                 "lc/v1/county/programme": "programme", "lc/v1/county/credit-rules": "credit-rules",
                 "lc/v1/county/registry": "registry"}  # the registry: walk-in slips verify offline at every kiosk
PAGES_PREFIX = "lc/v1/county/"
INDEX_PREFIX = "lc/v1/county/index/"


def page_topics(venue: str | None) -> dict[str, str]:
    """The county pages a kiosk subscribes to (topic filter → kind): every page and the index
    of the revocation list and of the registry; its venue's page and the county page of the
    staff roster and the programme (docs/contract-notes.md)."""
    topics = {}
    for kind, scheme in SCHEMES.items():
        if scheme.by == "hash":
            topics[f"{INDEX_PREFIX}{kind}"] = kind
            topics[f"{PAGES_PREFIX}{kind}/+"] = kind
        else:
            for key in ([venue] if venue else []) + [COUNTY_PAGE]:
                topics[f"{PAGES_PREFIX}{kind}/{key}"] = kind
    return topics


MAX_MESSAGE = 240 * 1024  # under the 256 KiB of topics.md
HOLD_ERRORS = ("unknown-kiosk", "unknown-key")  # the county's state, not the records': retry later
MAX_BACKOFF = 300.0  # seconds between offers while the gateway does not know this kiosk


def county_page_kind(topic: str) -> str | None:
    """``<kind>-index`` or ``<kind>-page`` for a county page or index topic, else None (the
    page's own signed body says which page it is; the topic only routes)."""
    if topic.startswith(INDEX_PREFIX):
        kind = topic[len(INDEX_PREFIX):]
        return index_kind(kind) if kind in SCHEMES else None
    kind, _, key = topic[len(PAGES_PREFIX):].partition("/")
    return page_kind(kind) if kind in SCHEMES and key and "/" not in key else None


class AgentHooks(Protocol):
    def set_uplink_state(self, online: bool) -> None: ...
    def set_clock_from_gateway(self, gateway_time: str, rtt_s: float) -> None: ...
    def set_uplink_problem(self, problem: dict[str, str] | None) -> None: ...
    def update_county_document(self, kind: str, token: str) -> bool: ...
    def venue_payload(self) -> bytes: ...
    def update_venue_peer(self, peer: str, payload: bytes) -> None: ...
    def set_uplink_alarm(self, kind: str, detail: dict[str, Any] | None) -> None: ...


@dataclass
class InFlight:
    epoch: int
    first: int
    last: int
    sent_at: float


class Uplink:
    def __init__(self, client: mqtt.Client, journal: Journal, kiosk: str, hooks: AgentHooks,
                 status: Callable[[], dict[str, Any]], *, batch_size: int = 200, window: int = 8,
                 resend_after: float = 30.0, status_every: float = 30.0, max_rtt: float = 2.0,
                 mono_ns: Callable[[], int] = time.monotonic_ns,
                 diagnose: Callable[[str | None], dict[str, str]] | None = None, venue: str | None = None) -> None:
        self.client = client
        # the venue's shared open check-ins (kiosk/venue_share.py): ours published retained, theirs read
        self.venue = venue
        self.venue_topic = f"lc/v1/venue/{venue}/open" if venue else None
        self._venue_sent: bytes | None = None
        self.max_rtt = max_rtt
        self.mono_ns = mono_ns
        self.diagnose = diagnose  # why connecting fails (TLS cause; or the broker's refusal) → a problem
        self._diagnosed_at: float | None = None
        self._boot = boot_id()
        self.journal = journal
        self.kiosk = kiosk
        self.hooks = hooks
        self.status = status
        self.batch_size = batch_size
        self.window = window
        self.resend_after = resend_after
        self.status_every = status_every
        self.topic = f"lc/v1/{kiosk}"
        self.inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.stop_event = threading.Event()
        self.inflight: list[InFlight] = []
        self.cursor: tuple[int, int] | None = None  # last (epoch, seq) sent since the outbox start
        self.online = False
        self.settled_total = 0
        self.refused_total = 0  # lines the gateway refused on this kiosk's topic (receipts' "refused")
        self.hold: str | None = None  # unknown-kiosk / unknown-key while the gateway does not know us
        self.backoff = resend_after
        self._last_status = 0.0
        client.will_set(f"{self.topic}/status", json.dumps({"state": "offline"}), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_connect_fail = self._on_connect_fail
        self.thread = threading.Thread(target=self.run, name="uplink", daemon=True)

    # --- paho callbacks: never block -----------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        if rc.is_failure:
            log.error("the broker refused this kiosk: %s", rc)
            self.inbox.put(("connect-failed", str(rc)))
            return
        client.subscribe([(f"{self.topic}/ack", 1), (f"{self.topic}/cmd/#", 1),
                          *[(t, 1) for t in COUNTY_TOPICS],
                          *([(f"{self.venue_topic}/+", 1)] if self.venue_topic else [])])
        client.subscribe(self.page_subscriptions())
        self.inbox.put(("connected", None))

    def page_subscriptions(self) -> list[tuple[str, Any]]:
        """The county pages' topics. MQTT 5: a kind whose pages this kiosk holds complete is
        subscribed with retain handling 1 — the broker sends retained pages only when the
        subscription is new, so a reconnection to the persistent session brings only the pages
        that changed (queued in the session) instead of every page again."""
        complete = getattr(self.hooks, "county_pages_complete", None)
        out: list[tuple[str, Any]] = []
        for topic, kind in page_topics(self.venue).items():
            if self.client.protocol == mqtt.MQTTv5:
                held = complete is not None and complete(kind)
                out.append((topic, SubscribeOptions(qos=1, retainHandling=1 if held else 0)))
            else:
                out.append((topic, 1))
        return out

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        self.inbox.put(("disconnected", None))

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.inbox.put(("message", message))

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self.inbox.put(("connect-failed", None))

    def wake(self) -> None:
        """A new record is in the outbox: send it now rather than at the next poll."""
        self.inbox.put(("wake", None))

    # --- the worker ---------------------------------------------------------------------------------

    def start(self) -> None:
        self.client.loop_start()
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=10)
        try:
            last = self.publish_status(state="offline")
            if self.online and last.rc == mqtt.MQTT_ERR_SUCCESS:
                # paho's loop_stop drops what it has not written: the broker acknowledging this
                # last message means every record published before it was written too
                last.wait_for_publish(5.0)
        finally:
            self.client.disconnect()
            self.client.loop_stop()
            self.journal.close()

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                kind, item = self.inbox.get(timeout=0.2)
                self.handle(kind, item)
                while True:  # drain what else arrived
                    kind, item = self.inbox.get_nowait()
                    self.handle(kind, item)
            except queue.Empty:
                pass
            except Exception:  # the uplink must keep going; the outbox keeps every record  # noqa: BLE001
                log.exception("uplink step failed")
                time.sleep(1)
            if self.online:
                try:
                    self.expire()
                    self.fill()
                    if time.monotonic() - self._last_status > self.status_every:
                        self.publish_status()
                except Exception:  # noqa: BLE001
                    log.exception("uplink send failed")
                    time.sleep(1)

    def handle(self, kind: str, item: Any) -> None:
        if kind == "connected":
            self.online = True
            self.inflight.clear()
            self.cursor = None  # offer the whole outbox again
            self.hooks.set_uplink_state(True)
            self.hooks.set_uplink_problem(None)
            self.publish_status()
            self._venue_sent = None
            self.publish_venue()
            log.info("uplink connected")
        elif kind == "disconnected":
            if self.online:
                log.warning("uplink lost the broker; records stay in the outbox")
            self.online = False
            self.hooks.set_uplink_state(False)
        elif kind == "message":
            self.on_message(item)
        elif kind == "wake" and self.online:
            # the new record first: the venue's open check-ins (a retained message, read by
            # the venue's other kiosks) do not need to go before it (they cost a tap ~3 ms)
            self.fill()
            self.publish_venue()
        elif kind == "connect-failed":
            self.connect_failed(item)

    def publish_venue(self) -> None:
        """Our open check-ins to the venue's other kiosks, retained, when they changed."""
        if self.venue_topic is None:
            return
        payload = self.hooks.venue_payload()
        if payload != self._venue_sent:
            self.client.publish(f"{self.venue_topic}/{self.kiosk}", payload, qos=1, retain=True)
            self._venue_sent = payload

    def on_message(self, message: mqtt.MQTTMessage) -> None:
        if self.venue_topic and message.topic.startswith(self.venue_topic + "/"):
            peer = message.topic.rsplit("/", 1)[1]
            if peer != self.kiosk:
                self.hooks.update_venue_peer(peer, message.payload)
            return
        if message.topic in COUNTY_TOPICS:
            if message.payload:
                token = message.payload.decode("ascii", "replace")
                self.hooks.update_county_document(COUNTY_TOPICS[message.topic], token)
            return
        if message.topic.startswith(PAGES_PREFIX):
            kind = county_page_kind(message.topic)
            if kind is not None and message.payload:  # empty: a page the broker forgets (re-paged)
                self.hooks.update_county_document(kind, message.payload.decode("ascii", "replace"))
            return
        try:
            body = json.loads(message.payload)
        except ValueError:
            log.warning("unreadable message on %s", message.topic)
            return
        if message.topic == f"{self.topic}/ack":
            if self.on_receipt(body):  # a receipt that does not match moves no clock either
                self.take_time(message, body)
        elif message.topic == f"{self.topic}/cmd/resend":
            self.resend(int(body["epoch"]), int(body["from"]), int(body["to"]))

    def on_receipt(self, receipt: dict[str, Any]) -> bool:
        """Apply a receipt; False when it does not match this kiosk's journal or cannot be read
        (nothing settled: its time must not move the clock either)."""
        if "error" in receipt:
            error = str(receipt["error"])
            if error in HOLD_ERRORS:
                self._hold(error)
                return True
            log.error("the gateway could not read a message: %s", error)
            if error == "too-large" and self.batch_size > 1:
                self.batch_size = max(1, self.batch_size // 2)
            return True
        try:
            epoch, upto = int(receipt["epoch"]), int(receipt["upto"])
            rejected = [(int(r["seq"]), str(r["reason"])) for r in receipt.get("rejected", [])]
            head = str(receipt.get("head", ""))
            refused = int(receipt.get("refused", 0))
        except (KeyError, TypeError, ValueError):
            log.warning("a receipt without a readable epoch/upto: ignored")
            return False
        if refused:
            self.refused_total += refused
            log.warning("the gateway refused %d lines on this kiosk's topic (not signed with this kiosk's key?)",
                        refused)
            self.hooks.set_uplink_alarm("refused", {"count": self.refused_total})
        try:
            settled = self.journal.settle(epoch, upto, head, rejected)
        except ReceiptMismatch as err:
            self.hooks.set_uplink_alarm("receipt-mismatch", {"epoch": epoch, "upto": upto,
                                                             "message": err.message()})
            return False
        if self.hold is not None and upto > 0:
            log.info("the gateway knows this kiosk now (%s cleared)", self.hold)
            self.hold, self.backoff = None, self.resend_after
            self.hooks.set_uplink_alarm("gateway-hold", None)
        self.settled_total += settled
        self.inflight = [f for f in self.inflight if not (f.epoch == epoch and f.last <= upto)]
        for lo, hi in receipt.get("missing", []):
            self.resend(epoch, int(lo), int(hi))
        return True

    # --- sending --------------------------------------------------------------------------------------

    def fill(self) -> None:
        while len(self.inflight) < self.window:
            batch = self.journal.pending(self.batch_size, after=self.cursor)
            if not batch:
                return
            epoch = batch[0].epoch
            lines, size = [], 0
            for p in batch:
                if p.epoch != epoch or (lines and size + len(p.token) + 1 > MAX_MESSAGE):
                    break
                lines.append(p)
                size += len(p.token) + 1
            self.client.publish(f"{self.topic}/rec", "\n".join(p.token for p in lines), qos=1,
                                properties=self.stamp())
            self.inflight.append(InFlight(epoch, lines[0].seq, lines[-1].seq, time.monotonic()))
            self.cursor = (epoch, lines[-1].seq)

    def _hold(self, error: str) -> None:
        """The gateway does not know this kiosk or its key yet: keep every record, say so in
        ``status``, and let the messages in flight wait a back-off that doubles each round
        (:meth:`expire`). Sending is not stopped: the error cannot be tied to one message (a
        holder of a stolen certificate could cause it), and a genuine receipt clears it."""
        if self.hold is None:
            log.error("the gateway answered %s: records stay pending until county IT's registry "
                      "names this kiosk and its key; retrying", error)
        self.hold = error
        self.hooks.set_uplink_alarm("gateway-hold", {"error": error, "retry_seconds": round(self.backoff)})

    def expire(self) -> None:
        now = time.monotonic()
        wait = self.backoff if self.hold is not None else self.resend_after
        if any(now - f.sent_at > wait for f in self.inflight):
            log.warning("no receipt after %.0f s: offering the outbox again", wait)
            self.inflight.clear()
            self.cursor = None
            if self.hold is not None:
                self.backoff = min(MAX_BACKOFF, self.backoff * 2)

    def resend(self, epoch: int, first: int, last: int) -> None:
        tokens = self.journal.records_between(epoch, first, last)
        for i in range(0, len(tokens), self.batch_size):
            self.client.publish(f"{self.topic}/rec", "\n".join(tokens[i:i + self.batch_size]), qos=1,
                                properties=self.stamp())

    # --- the clock and the connection's troubles ------------------------------------------------------

    def stamp(self) -> Properties:
        """Correlation data the gateway echoes on the receipt: this boot and the send time."""
        props = Properties(PacketTypes.PUBLISH)
        props.CorrelationData = f"{self._boot}/{self.mono_ns()}".encode("ascii")
        return props

    def round_trip(self, message: mqtt.MQTTMessage) -> float | None:
        """Seconds since the message this receipt answers left this kiosk, if it was sent in this boot."""
        data = getattr(getattr(message, "properties", None), "CorrelationData", None)
        try:
            boot, _, sent = bytes(data or b"").decode("ascii").rpartition("/")
            if boot != self._boot:
                return None
            return (self.mono_ns() - int(sent)) / 1e9
        except ValueError:
            return None

    def take_time(self, message: mqtt.MQTTMessage, receipt: Any) -> None:
        if not isinstance(receipt, dict) or not receipt.get("time"):
            return
        rtt = self.round_trip(message)
        if rtt is None or not 0 <= rtt <= self.max_rtt:
            log.debug("receipt time not used: round trip %s (limit %.1f s)", rtt, self.max_rtt)
            return
        self.hooks.set_clock_from_gateway(str(receipt["time"]), rtt)

    def connect_failed(self, refused: str | None) -> None:
        """Find out why (at most every 30 s), log it and show it in ``status``."""
        now = self.mono_ns() / 1e9
        if self.diagnose is None or (self._diagnosed_at is not None and now - self._diagnosed_at < 30):
            return
        self._diagnosed_at = now
        problem = self.diagnose(refused)
        log.error("cannot connect to the broker: %s (%s)", problem["en"], problem["detail"])
        self.hooks.set_uplink_problem(problem)

    def publish_status(self, state: str = "online") -> mqtt.MQTTMessageInfo:
        self._last_status = time.monotonic()
        try:
            health = self.status()
        except Exception:  # noqa: BLE001 - a status without details is better than none
            health = {}
        body = {"state": state, "version": "0.1.0", **health, "refused_by_gateway": self.refused_total,
                "gateway_hold": self.hold}
        return self.client.publish(f"{self.topic}/status", json.dumps(body), qos=1, retain=True)
