"""A county of 2,000 kiosks: the registry (about 700 KB signed) is over the broker's
message limit. The gateway used to publish it anyway, and Mosquitto dropped its
connection on every attempt (289 times in 2.5 minutes, nothing stored). Now the document
stays in force at the gateway and is not published; records flow."""

from __future__ import annotations

import os
from pathlib import Path

from records import keys
from records.county import MAX_MESSAGE, MAX_PACKET
from tests.support.county import TestCounty
from tests.support.fleet import Fleet, SimKiosk, healthy, metric
from tests.support.mosquitto import Mosquitto
from tests.support.ports import free_port
from tests.support.venue import GatewayProcess, wait_until


def test_two_thousand_kiosks_enrolled_and_the_gateway_stays_connected(tmp_path: Path, county: TestCounty) -> None:
    seeds = {f"k-r{i:04d}": os.urandom(32) for i in range(2000)}
    for k, s in seeds.items():
        county.kiosk_keys[k] = keys.private_key_from_seed(s)
    venues = {k: f"v-r{i // 4:03d}" for i, k in enumerate(seeds)}
    assert len(county.registry(venues).token) > MAX_MESSAGE
    broker = Mosquitto(tmp_path / "broker", extra_conf=f"max_packet_size {MAX_PACKET}\n").start()
    gateway = GatewayProcess(county, tmp_path / "gateway", broker, kiosks=venues, metrics_port=free_port())
    try:
        gateway.start()
        wait_until("a healthy gateway", lambda: healthy(gateway.metrics_port), 120)
        last = "k-r1999"
        kiosk = SimKiosk(last, venues[last], county.kiosk_keys[last], resend_after=5)
        fleet = Fleet([kiosk], broker.port)
        fleet.connect_all()
        for _ in range(5):
            kiosk.tap()
        assert fleet.run_until(lambda: not kiosk.unsettled(), 60), "the gateway never settled the records"
        fleet.pump(3)  # long enough for a dropped connection to show
        assert 5 == gateway.count()
        assert 1 == metric(gateway.metrics_port, "learncard_gateway_broker_connected")
        # refused once, at the one connection: a reconnect loop would count more
        assert 1 == metric(gateway.metrics_port, "learncard_gateway_county_document_too_large")
        fleet.disconnect_all()
    finally:
        gateway.kill()
        broker.kill()
