"""A kiosk certificate's retained status can say anything: it must never make the gateway
look (or be) broken. Old code: a 4 KB status of nested brackets raised RecursionError in the
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
