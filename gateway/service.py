"""The gateway's MQTT side: subscribe (shared), hand messages to one worker, publish the
receipts (after the commit), the verified stream, resend commands and the county's
retained documents.

paho's callbacks never block: they only put messages on a queue.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections import defaultdict
from typing import Any

import paho.mqtt.client as mqtt

from gateway.county_files import TOPICS, CountyFiles
from gateway.ingest import Ingest, Outcome
from gateway.metrics import Metrics
from gateway.store import Store

log = logging.getLogger(__name__)

REC = "lc/v1/+/rec"
STATUS = "lc/v1/+/status"
VERIFIED_MAX = 200 * 1024  # bytes per verified-stream message


class GatewayService:
    def __init__(self, client: mqtt.Client, ingest: Ingest, store: Store, county: CountyFiles,
                 metrics: Metrics, share_group: str) -> None:
        self.client = client
        self.ingest = ingest
        self.store = store
        self.county = county
        self.metrics = metrics
        self.share_group = share_group
        self.inbox: queue.Queue[mqtt.MQTTMessage | None] = queue.Queue()
        self.stop = threading.Event()
        self.connected = threading.Event()
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message

    # --- paho callbacks (never block) ----------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        if rc.is_failure:
            log.error("the broker refused the gateway: %s", rc)
            return
        client.subscribe([(f"$share/{self.share_group}/{REC}", 1), (STATUS, 1)])
        self.connected.set()
        self.metrics.connected.set(1)
        self.publish_documents()
        log.info("gateway connected to the broker")

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        self.connected.clear()
        self.metrics.connected.set(0)
        if not self.stop.is_set():
            log.warning("gateway lost the broker (%s); paho reconnects", rc)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.inbox.put(message)
        self.metrics.queue.inc()

    # --- the worker ----------------------------------------------------------------------------

    def run(self) -> None:
        """Process messages until stopped; each message's receipt goes out after its commit."""
        while not self.stop.is_set():
            try:
                message = self.inbox.get(timeout=0.5)
            except queue.Empty:
                continue
            if message is None:
                break
            self.metrics.queue.dec()
            try:
                self.process(message)
            except Exception:  # one bad message must not stop the gateway  # noqa: BLE001
                log.exception("a message on %s could not be processed; it will be re-sent", message.topic)

    def process(self, message: mqtt.MQTTMessage) -> None:
        parts = message.topic.split("/")
        if len(parts) != 4 or parts[0] != "lc" or parts[1] != "v1":
            return
        kiosk, kind = parts[2], parts[3]
        if kind == "status":
            self._status(kiosk, message.payload)
            return
        if kind != "rec":
            return
        self.metrics.messages.inc()
        outcome = self.ingest.handle(kiosk, message.payload)
        self._publish_outcome(outcome)

    def _status(self, kiosk: str, payload: bytes) -> None:
        try:
            status = json.loads(payload or b"{}")
            if not isinstance(status, dict):
                raise ValueError("not an object")
        except ValueError:
            log.warning("kiosk %s sent a status that is not a JSON object", kiosk)
            return
        self.store.set_status(kiosk, status)

    def _publish_outcome(self, out: Outcome) -> None:
        m = self.metrics
        ack = f"lc/v1/{out.kiosk}/ack"
        if out.error is not None:
            m.message_errors.labels(out.error).inc()
            self.client.publish(ack, json.dumps({"error": out.error}), qos=1)
            return
        m.stored.inc(out.stored)
        m.duplicates.inc(out.duplicates)
        m.flagged.inc(out.flagged)
        for reason, n in out.rejected.items():
            m.rejected.labels(reason).inc(n)
        by_venue: dict[str, list[str]] = defaultdict(list)
        for venue, token in out.verified:
            by_venue[venue].append(token)
        for venue, tokens in by_venue.items():
            self._publish_verified(venue, tokens)
        for receipt in out.receipts:
            self.client.publish(ack, json.dumps(receipt), qos=1)
        for resend in out.resend:
            m.resends.inc()
            self.client.publish(f"lc/v1/{out.kiosk}/cmd/resend", json.dumps(resend), qos=1)

    def _publish_verified(self, venue: str, tokens: list[str]) -> None:
        chunk: list[str] = []
        size = 0
        for token in tokens:
            if chunk and size + len(token) + 1 > VERIFIED_MAX:
                self.client.publish(f"lc/v1/verified/{venue}", "\n".join(chunk), qos=1)
                chunk, size = [], 0
            chunk.append(token)
            size += len(token) + 1
        if chunk:
            self.client.publish(f"lc/v1/verified/{venue}", "\n".join(chunk), qos=1)

    # --- county documents ---------------------------------------------------------------------------

    def publish_documents(self, kinds: list[str] | None = None) -> None:
        for kind, topic in TOPICS.items():
            if kinds is not None and kind not in kinds:
                continue
            doc = self.county.document(kind)
            if doc is not None:
                self.client.publish(topic, doc.token, qos=1, retain=True)
                self.metrics.document_version.labels(kind).set(doc.version)

    def reload(self) -> None:
        changed = self.county.load()
        if changed:
            self.publish_documents(changed)

    def shutdown(self) -> None:
        self.stop.set()
        self.inbox.put(None)
