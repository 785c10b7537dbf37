"""What the gateway publishes (receipts, the verified stream, resend commands, the county's
documents), kept until the broker acknowledges it, so that a clean stop sends it first.

paho's ``loop_stop`` ends its network thread without writing what is still queued ("this
doesn't guarantee that publish packets are sent"): a gateway stopped right after a commit
dropped the receipts of the last messages it stored (their kiosks kept the records pending
until a gateway answered a re-offer) and their lines on the verified stream.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)


class Outgoing:
    def __init__(self, client: mqtt.Client) -> None:
        self.client = client
        self._waiting: deque[mqtt.MQTTMessageInfo] = deque()
        self._lock = threading.Lock()

    def publish(self, topic: str, payload: str | bytes, *, retain: bool = False, properties: Any = None) -> None:
        """Publish at QoS 1. While the broker is away paho keeps it for the next session and
        nothing can be waited for: it is not kept here."""
        info = self.client.publish(topic, payload, qos=1, retain=retain, properties=properties)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return
        with self._lock:
            while self._waiting and self._waiting[0].is_published():
                self._waiting.popleft()
            self._waiting.append(info)

    def unacknowledged(self) -> int:
        with self._lock:
            return sum(1 for info in self._waiting if not info.is_published())

    def flush(self, timeout: float) -> int:
        """Wait at most ``timeout`` seconds for the broker to acknowledge everything published;
        returns how many it has not (the broker is away: their kiosks offer the records again)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            waiting = list(self._waiting)
        for info in waiting:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            info.wait_for_publish(left)
        return self.unacknowledged()

    def close(self, connected: threading.Event, timeout: float = 10.0) -> int:
        """Flush, disconnect (the DISCONNECT written before the network thread ends), stop
        paho's thread. ``connected``: set while the session is up, cleared by on_disconnect."""
        left = self.flush(timeout) if connected.is_set() else self.unacknowledged()
        if left:
            log.warning("stopping with %d messages the broker has not acknowledged; their kiosks "
                        "offer the records again and are answered then", left)
        self.client.disconnect()
        deadline = time.monotonic() + 2.0
        while connected.is_set() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.client.loop_stop()
        return left
