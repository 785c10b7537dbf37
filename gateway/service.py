"""The gateway's MQTT side: subscribe (shared), hand messages to one worker, publish the
receipts (after the commit), the verified stream, resend commands and the county's
retained documents.

paho's callbacks never block: they only put messages in the bounded, per-kiosk inbox
(:mod:`gateway.inbox`) or shed them. Each receipt echoes the MQTT 5 correlation data of the
message it answers, so a kiosk can measure the round trip before it trusts ``time``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.county_files import INDEX_PREFIX, SYNC_TOPIC, TOPICS, CountyFiles, index_topic, page_topic
from gateway.inbox import Bounds, FairInbox
from gateway.ingest import Ingest, Outcome
from gateway.metrics import Metrics
from gateway.outgoing import Outgoing
from gateway.ratelimit import PerKioskBudget
from gateway.store import Store
from records import county_pages
from records.county import MAX_MESSAGE
from records.errors import RecordError
from records.record import parse_time

log = logging.getLogger(__name__)
PAGES_SYNC_WAIT = 10.0  # seconds to wait for the retained page indexes before publishing every page

REC = "lc/v1/+/rec"
STATUS = "lc/v1/+/status"
VERIFIED_MAX = 200 * 1024  # bytes per verified-stream message
STATUS_MAX = 4096  # bytes of a kiosk's retained status the gateway accepts and stores
GROUP_MESSAGES = 64  # record messages settled in one transaction at most (group commit)
GROUP_BYTES = 64 * 1024  # ... and bytes: a batch of 200 records (~140 KB) goes alone, so live taps never
# wait for a backlog's batch inside their own group (only, as ever, for one settled just before)


@dataclass(frozen=True)
class Limits:
    inbox: Bounds = Bounds()
    status_max: int = STATUS_MAX
    error_receipts_per_second: float = 1.0
    error_receipts_burst: int = 5


class GatewayService:
    def __init__(self, client: mqtt.Client, ingest: Ingest, store: Store, county: CountyFiles,
                 metrics: Metrics, share_group: str, limits: Limits | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        self.client = client
        self.outgoing = Outgoing(client)  # a clean stop sends what it holds first
        self.ingest = ingest
        self.store = store
        self.county = county
        self.metrics = metrics
        self.share_group = share_group
        self.limits = limits or Limits()
        self.now = now or ingest.now
        self.inbox: FairInbox[mqtt.MQTTMessage] = FairInbox(self.limits.inbox)
        self.error_budget = PerKioskBudget(self.limits.error_receipts_per_second, self.limits.error_receipts_burst)
        self.store_problem: str | None = None  # why the last commit failed; None once one succeeds
        self.skew: dict[str, float] = {}  # kiosk → its wall clock minus ours, from its live status
        self.stop = threading.Event()
        self.connected = threading.Event()
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        # the pages the broker holds (key -> version): read from its retained indexes at each
        # connection, then what this process published (see _sync_pages)
        self._pages_sent: dict[str, dict[str, int]] = {}
        self._index_sent: dict[str, int] = {}
        self._pages_lock = threading.Lock()
        self._pages_synced = False
        self._sync_nonce = ""
        county.on_change.append(self.publish_documents)  # however a reload happens

    # --- paho callbacks (never block) ----------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        if rc.is_failure:
            log.error("the broker refused the gateway: %s", rc)
            return
        client.subscribe([(f"$share/{self.share_group}/{REC}", 1), (STATUS, 1)])
        self.connected.set()
        self.metrics.connected.set(1)
        self._sync_pages(client)
        self.publish_documents()
        log.info("gateway connected to the broker")

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        self.connected.clear()
        self.metrics.connected.set(0)
        if not self.stop.is_set():
            log.warning("gateway lost the broker (%s); paho reconnects", rc)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic.startswith(INDEX_PREFIX):
            self._on_index(message)
            return
        parts = message.topic.split("/")
        if len(parts) != 4 or parts[:2] != ["lc", "v1"] or parts[3] not in ("rec", "status"):
            return
        size = len(message.payload)
        if parts[3] == "status" and size > self.limits.status_max:
            self.metrics.shed.labels("status-too-large").inc()
            return
        shed = self.inbox.put(parts[2], message, size)
        if shed is not None:
            self.metrics.shed.labels(shed).inc()  # the kiosk offers it again: it has no receipt
        self._gauge_inbox()

    def _gauge_inbox(self) -> None:
        messages, size = self.inbox.usage()
        self.metrics.queue.set(messages)
        self.metrics.queue_bytes.set(size)

    # --- the worker ----------------------------------------------------------------------------

    def run(self) -> None:
        """Process messages until stopped; each message's receipt goes out after its commit.

        Group commit: the record messages already waiting when the worker is free (up to
        ``GROUP_MESSAGES`` and ``GROUP_BYTES``, kiosks in turn as the inbox serves them) are
        settled in one transaction, and their receipts go out after that one commit. Nothing
        waits for a group to fill: a message alone is settled at once."""
        while not self.stop.is_set():
            got = self.inbox.get(timeout=0.5)
            if got is None:
                continue
            group, size = [got[1]], len(got[1].payload)
            while len(group) < GROUP_MESSAGES and (more := self.inbox.take(GROUP_BYTES - size)) is not None:
                group.append(more[1])
                size += len(more[1].payload)
            self._gauge_inbox()
            try:
                self.process_many(group)
            except Exception as err:  # one bad message must not stop the gateway  # noqa: BLE001
                self.store_problem = f"{type(err).__name__}: {err}"  # what raises here is the store
                log.exception("%d messages could not be processed; they will be re-sent", len(group))

    def health(self) -> tuple[bool, list[str]]:
        """Whether the gateway can do its work, and if not, why (for /healthz and a watchdog)."""
        reasons = []
        if not self.connected.is_set():
            reasons.append("broker: not connected")
        if self.store_problem is not None:
            reasons.append(f"store: the last commit failed ({self.store_problem})")
        if self.inbox.over_bound():
            messages, size = self.inbox.usage()
            reasons.append(f"inbox: over its bound ({messages} messages, {size} bytes waiting; shedding)")
        return not reasons, reasons

    def process(self, message: mqtt.MQTTMessage) -> None:
        self.process_many([message])

    def process_many(self, messages: list[mqtt.MQTTMessage]) -> None:
        """Kiosk statuses one by one; record messages in one transaction, then their receipts."""
        records: list[tuple[str, mqtt.MQTTMessage]] = []
        for message in messages:
            parts = message.topic.split("/")
            if len(parts) != 4 or parts[0] != "lc" or parts[1] != "v1":
                continue
            kiosk, kind = parts[2], parts[3]
            if kind == "status":
                try:
                    self._status(kiosk, message.payload, live=not message.retain)
                except Exception as err:  # the store: the records beside it are still settled  # noqa: BLE001
                    self.store_problem = f"{type(err).__name__}: {err}"
                    log.exception("kiosk %s's status could not be stored", kiosk)
            elif kind == "rec":
                records.append((kiosk, message))
        if not records:
            return
        self.metrics.messages.inc(len(records))
        outcomes = self.ingest.handle_many([(kiosk, message.payload) for kiosk, message in records])
        settled, failed = [], None
        for (_, message), outcome in zip(records, outcomes, strict=True):
            if outcome.failure is not None:  # rolled back: no receipt, the kiosk sends it again
                failed = outcome.failure
                log.error("a message on %s could not be settled (%s); it will be re-sent", message.topic, failed)
                continue
            if outcome.error is None and failed is None:
                self.store_problem = None  # it committed
            settled.append((outcome, echo(message)))
        if failed is not None:  # reported until a message commits without one failing beside it
            self.store_problem = f"{type(failed).__name__}: {failed}"
        # the verified stream before any receipt: a process that dies between the two has sent
        # no receipt, so the kiosk sends the records again and they are republished then
        by_venue: dict[str, list[str]] = defaultdict(list)  # one message per venue for the whole group
        for outcome, _ in settled:
            if outcome.error is None:
                for venue, token in outcome.verified:
                    by_venue[venue].append(token)
        for venue, tokens in by_venue.items():
            self._publish_verified(venue, tokens)
        for outcome, props in settled:
            self._publish_outcome(outcome, props)

    def _status(self, kiosk: str, payload: bytes, *, live: bool) -> None:
        if len(payload) > self.limits.status_max:
            log.warning("kiosk %s sent a status of %d bytes (limit %d); not stored", kiosk, len(payload),
                        self.limits.status_max)
            return
        try:
            status = json.loads(payload or b"{}")
            if not isinstance(status, dict):
                raise ValueError("not an object")
        except (ValueError, RecursionError):  # nested brackets: a kiosk's text, not a store failure
            log.warning("kiosk %s sent a status that is not a JSON object", kiosk)
            return
        if live:
            self._estimate_skew(kiosk, status)
        if kiosk in self.skew:
            status["skew_seconds"] = self.skew[kiosk]
        self.store.set_status(kiosk, status)
        self.store_problem = None

    def _estimate_skew(self, kiosk: str, status: dict[str, Any]) -> None:
        """A live status carries the kiosk's wall time as it sent it: the difference from ours
        is its clock's skew (give or take the broker's delivery, well under a second)."""
        try:
            theirs = parse_time(str(status["time"]))
        except (KeyError, ValueError, RecordError):
            return
        skew = round((theirs - self.now()).total_seconds(), 1)
        if abs(skew - self.skew.get(kiosk, skew)) > 60 or kiosk not in self.skew:
            log.info("kiosk %s: clock skew %+.1f s", kiosk, skew)
        self.skew[kiosk] = skew
        self.metrics.skew.labels(kiosk).set(skew)

    def _publish_outcome(self, out: Outcome, props: Properties | None = None) -> None:
        """Count one settled message and answer it (its verified records are out already)."""
        m = self.metrics
        ack = f"lc/v1/{out.kiosk}/ack"
        if out.error is not None:
            m.message_errors.labels(out.error).inc()
            if not self.error_budget.take(out.kiosk):
                m.error_receipts_suppressed.inc()
                return
            self.outgoing.publish(ack, json.dumps({"error": out.error}), properties=props)
            return
        m.stored.inc(out.stored)
        m.duplicates.inc(out.duplicates)
        m.flagged.inc(out.flagged)
        for reason, n in out.rejected.items():
            m.rejected.labels(reason).inc(n)
        for reason, n in out.refused.items():
            m.refused.labels(reason).inc(n)
        for receipt in out.receipts:
            self.outgoing.publish(ack, json.dumps(receipt), properties=props)
        for resend in out.resend:
            m.resends.inc()
            self.outgoing.publish(f"lc/v1/{out.kiosk}/cmd/resend", json.dumps(resend))

    def _publish_verified(self, venue: str, tokens: list[str]) -> None:
        chunk: list[str] = []
        size = 0
        for token in tokens:
            if chunk and size + len(token) + 1 > VERIFIED_MAX:
                self.outgoing.publish(f"lc/v1/verified/{venue}", "\n".join(chunk))
                chunk, size = [], 0
            chunk.append(token)
            size += len(token) + 1
        if chunk:
            self.outgoing.publish(f"lc/v1/verified/{venue}", "\n".join(chunk))

    # --- county documents ---------------------------------------------------------------------------

    def publish_documents(self, kinds: list[str] | None = None) -> None:
        for kind, topic in TOPICS.items():
            if kinds is not None and kind not in kinds:
                continue
            doc = self.county.document(kind)
            if doc is None:
                continue
            if len(doc.token) > MAX_MESSAGE:
                # the broker would drop the gateway's connection (max_packet_size) and with it
                # every receipt; the document stays in force here, it is only not republished
                # (kiosks of this release read its pages instead)
                log.error("%s version %d is %d bytes, over the broker's message limit of %d: not published "
                          "whole (the gateway uses it; 1.1 kiosks and consumers keep the one they hold; "
                          "its pages are published)", kind, doc.version, len(doc.token), MAX_MESSAGE)
                self.metrics.documents_too_large.labels(kind).inc()
            else:
                self.outgoing.publish(topic, doc.token, retain=True)
            self.metrics.document_version.labels(kind).set(doc.version)
            self.publish_pages(kind)

    # The broker keeps the pages retained, and every kiosk subscribed to a page receives each
    # publication of it: publishing every page at every connection would send a million-card
    # revocation list (60 MB) to every kiosk at each gateway restart. So at each connection the
    # gateway first reads the retained indexes (published after the pages they name: they say
    # what the broker holds), then publishes only the pages that differ. A message of its own
    # on SYNC_TOPIC, sent after the subscription, marks the end of the retained indexes (the
    # broker answers one connection's packets in order); without it (a broker ACL written
    # before this release) every page is published after PAGES_SYNC_WAIT seconds.

    def _sync_pages(self, client: mqtt.Client) -> None:
        with self._pages_lock:
            self._pages_synced = False
            self._pages_sent = {}
            self._index_sent = {}
            self._sync_nonce = os.urandom(8).hex()
        client.subscribe([(f"{INDEX_PREFIX}+", 1)])
        client.publish(SYNC_TOPIC, self._sync_nonce, qos=1)
        nonce = self._sync_nonce
        timer = threading.Timer(PAGES_SYNC_WAIT, lambda: self._pages_ready(nonce, timed_out=True))
        timer.daemon = True
        timer.start()

    def _on_index(self, message: mqtt.MQTTMessage) -> None:
        kind = message.topic[len(INDEX_PREFIX):]
        if message.topic == SYNC_TOPIC:
            self._pages_ready(message.payload.decode("ascii", "replace"))
            return
        if kind not in county_pages.SCHEMES or not message.payload:
            return
        try:
            index = county_pages.verify_index(message.payload, self.county.issuer, kind, self.county.county_id)
        except RecordError as err:
            log.warning("the retained %s index at the broker does not verify (%s): every page is published", kind,
                        err)
            return
        with self._pages_lock:
            if not self._pages_synced:  # what the broker holds: publish only what differs
                self._pages_sent[kind] = county_pages.page_versions(index)
                self._index_sent[kind] = index.version

    def _pages_ready(self, nonce: str, *, timed_out: bool = False) -> None:
        with self._pages_lock:
            if nonce != self._sync_nonce or self._pages_synced:
                return
            self._pages_synced = True
        if timed_out:
            log.warning("the broker did not return the gateway's own message on %s in %d s (its ACL may "
                        "predate county pages: run `learncard provision broker-config`); publishing every "
                        "page", SYNC_TOPIC, PAGES_SYNC_WAIT)
        for kind in county_pages.PAGED:
            self.publish_pages(kind)

    def publish_pages(self, kind: str) -> None:
        """The pages of ``kind`` the broker does not hold at their version (see above),
        retained; then the index; and an empty retained message on the topic of a page the
        index no longer names (the broker forgets it)."""
        pages = self.county.pages(kind)
        if pages is None:
            return
        with self._pages_lock:
            if not self._pages_synced:
                return  # published once the retained indexes are read
            sent = self._pages_sent.setdefault(kind, {})
            for key, (version, token) in pages.pages.items():
                if sent.get(key) == version:
                    continue
                if len(token) > MAX_MESSAGE:  # never made so by provisioning; a hand-made file
                    log.error("%s page %s is %d bytes, over the broker's message limit: not published",
                              kind, key, len(token))
                    self.metrics.documents_too_large.labels(f"{kind}-page").inc()
                    continue
                self.outgoing.publish(page_topic(kind, key), token, retain=True)
                sent[key] = version
            for key in [k for k in sent if k not in pages.pages]:
                self.outgoing.publish(page_topic(kind, key), b"", retain=True)
                del sent[key]
            if len(pages.index) > MAX_MESSAGE:
                log.warning("the %s index is %d bytes, over the broker's message limit: not published (a "
                            "gateway restart then publishes every %s page again)", kind, len(pages.index), kind)
                self.metrics.documents_too_large.labels(f"{kind}-index").inc()
            elif self._index_sent.get(kind) != pages.version:
                self.outgoing.publish(index_topic(kind), pages.index, retain=True)
                self._index_sent[kind] = pages.version

    def reload(self) -> None:
        self.county.load()  # publishes what changed through county.on_change

    def shutdown(self) -> None:
        self.stop.set()
        self.inbox.close()


def echo(message: mqtt.MQTTMessage) -> Properties | None:
    """Publish properties that hand a message's correlation data back (MQTT 5), if it had any."""
    data = getattr(getattr(message, "properties", None), "CorrelationData", None)
    if not data or len(data) > 64:
        return None
    props = Properties(PacketTypes.PUBLISH)
    props.CorrelationData = bytes(data)
    return props
