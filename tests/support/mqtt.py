"""Small paho-mqtt helpers for tests: connect (plain or TLS), publish and get the PUBACK's
reason code, collect messages."""

from __future__ import annotations

import queue
import ssl
import threading
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


class TestClient:
    __test__ = False

    def __init__(self, port: int, *, client_id: str | None = None, ca: Path | None = None,
                 cert: Path | None = None, key: Path | None = None, username: str | None = None) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or f"t-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv5)
        if username:
            self.client.username_pw_set(username)
        if ca is not None:
            context = ssl.create_default_context(cafile=str(ca))
            context.check_hostname = False
            if cert is not None:
                context.load_cert_chain(str(cert), str(key))
            self.client.tls_set_context(context)
        self.messages: queue.Queue[Any] = queue.Queue()
        self.acks: dict[int, int] = {}
        self.connected = threading.Event()
        self.connect_rc: Any = None
        self._acked = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.on_message = lambda c, u, m: self.messages.put(m)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        self.connect_rc = rc
        if not rc.is_failure:
            self.connected.set()

    def _on_publish(self, client: Any, userdata: Any, mid: int, rc: Any, props: Any = None) -> None:
        with self._acked:
            self.acks[mid] = rc.value
            self._acked.notify_all()

    def wait_connected(self, timeout: float = 10) -> bool:
        return self.connected.wait(timeout)

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False,
                timeout: float = 10) -> int:
        """Publish and wait for the PUBACK; returns its reason code (0 = accepted, 135 = not authorized)."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        with self._acked:
            if not self._acked.wait_for(lambda: info.mid in self.acks, timeout):
                raise TimeoutError(f"no PUBACK for {topic}")
            return self.acks.pop(info.mid)

    def subscribe(self, topic: str, qos: int = 1) -> None:
        self.client.subscribe(topic, qos)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
