"""A gateway stopped cleanly right after a commit sends the receipts it has published before
its network thread ends (the flaky tests/integration/test_kiosk_clock.py queued-receipts test:
paho's loop_stop dropped the receipts of the last messages stored, so the kiosk kept records
the gateway had stored pending until a gateway answered again). Real Mosquitto, real paho."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt

from gateway.outgoing import Outgoing
from learncard.mqtt import connect_persistent, mqtt_client
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import TestClient
from tests.support.venue import wait_until

N = 3000


def gateway_client(mosquitto: Mosquitto, client_id: str) -> tuple[mqtt.Client, threading.Event]:
    """A persistent MQTT 5 session made as the gateway makes it, and its connected flag."""
    client = mqtt_client({}, client_id)
    connected = threading.Event()
    client.on_connect = lambda *_: connected.set()
    client.on_disconnect = lambda *_: connected.clear()
    connect_persistent(client, "127.0.0.1", mosquitto.port)
    client.loop_start()
    assert connected.wait(30)
    return client, connected


def test_a_clean_stop_sends_every_receipt_published_before_it(mosquitto: Mosquitto) -> None:
    kiosk = TestClient(mosquitto.port)
    assert kiosk.wait_connected()
    kiosk.subscribe("lc/v1/k-a/ack")
    client, connected = gateway_client(mosquitto, "gateway-stop-test")
    try:
        outgoing = Outgoing(client)
        for n in range(1, N + 1):  # a burst of receipts, then stop at once (as on SIGTERM)
            outgoing.publish("lc/v1/k-a/ack", f'{{"upto": {n}}}')
        assert 0 == outgoing.close(connected)
        got: list[bytes] = []

        def all_in() -> bool:
            while not kiosk.messages.empty():
                got.append(kiosk.messages.get().payload)
            return len(got) >= N

        wait_until(f"{N} receipts at the kiosk", all_in, 60)
        time.sleep(0.5)
        all_in()
        assert N == len(got) and got[-1] == f'{{"upto": {N}}}'.encode()
    finally:
        kiosk.close()


def test_with_the_broker_gone_a_stop_does_not_hang(mosquitto: Mosquitto) -> None:
    client, connected = gateway_client(mosquitto, "gateway-stop-test-2")
    mosquitto.kill()
    wait_until("the client to notice", lambda: not connected.is_set(), 60)
    outgoing = Outgoing(client)
    outgoing.publish("lc/v1/k-a/ack", "{}")
    assert 0 == outgoing.close(connected, timeout=2)  # paho keeps it for the next session
