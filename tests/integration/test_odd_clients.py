"""Clients the gateway must cope with: a kiosk certificate's retained status can say anything
and must never make the gateway look (or be) broken; a kiosk on MQTT 3.1.1 is answered.

The status: Old code: a 4 KB status of nested brackets raised RecursionError in the
worker, which took it for a failed commit — /healthz said "store: the last commit failed"
and the watchdog went unfed (systemd restarts the gateway, and the retained status comes
back after every restart)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.integration.test_gateway_load import KIOSKS, healthz
from tests.support.county import TestCounty
from tests.support.gateway import KioskChain, payload
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import TestClient
from tests.support.ports import free_port
from tests.support.venue import GatewayProcess, wait_until


def test_deeply_nested_status_is_refused_and_health_stays_good(tmp_path: Path, county: TestCounty,
                                                               mosquitto: Mosquitto) -> None:
    gw = GatewayProcess(county, tmp_path / "gateway", mosquitto, kiosks=KIOSKS, metrics_port=free_port()).start()
    try:
        wait_until("the gateway", lambda: healthz(gw.metrics_port)[0] == 200, 60)
        time.sleep(0.5)  # its SUBACK
        thief = TestClient(mosquitto.port)
        assert thief.wait_connected()
        thief.publish("lc/v1/k-test-1/status", "[" * 2000 + "]" * 2000, retain=True)  # 4,000 bytes: under the limit
        log = gw.folder / "gateway.log"
        wait_until("the gateway to read it", lambda: "k-test-1" in log.read_text())
        assert (200, "ok\n") == healthz(gw.metrics_port), log.read_text()[-2000:]
        assert "not a JSON object" in log.read_text()
        thief.publish("lc/v1/k-test-1/rec", payload(KioskChain(county).many(2)))  # and records still flow
        wait_until("the records", lambda: 2 == gw.count())
        thief.close()
    finally:
        gw.kill()


def test_a_kiosk_on_mqtt_3_1_1_is_answered(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto) -> None:
    """topics.md: "MQTT 5 where the broker offers it; 3.1.1 must still work" — a 3.1.1 client
    has no correlation data and no Receive Maximum: its records are stored and receipted."""
    import json
    import queue

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    gw = GatewayProcess(county, tmp_path / "gateway", mosquitto, kiosks=KIOSKS, metrics_port=free_port()).start()
    old = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="k-test-1", protocol=mqtt.MQTTv311)
    receipts: queue.Queue = queue.Queue()
    old.on_message = lambda c, u, m: receipts.put(json.loads(m.payload))
    try:
        wait_until("the gateway", lambda: healthz(gw.metrics_port)[0] == 200, 60)
        time.sleep(0.5)  # its SUBACK
        old.connect("127.0.0.1", mosquitto.port)
        old.loop_start()
        old.subscribe("lc/v1/k-test-1/ack", 1)
        time.sleep(0.5)
        recs = KioskChain(county).many(3)
        old.publish("lc/v1/k-test-1/rec", payload(recs), qos=1)
        receipt = receipts.get(timeout=60)
        assert (3, recs[-1].hash) == (receipt["upto"], receipt["head"])
    finally:
        old.disconnect()
        old.loop_stop()
        gw.kill()
