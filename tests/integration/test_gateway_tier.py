"""A gateway tier: three `learncard gateway run` processes on one PostgreSQL store and
Mosquitto's round-robin shared subscription, fifty simulated kiosks, gateway processes
killed (SIGKILL) at random and the relay holder killed. Everything ends stored once, on
the verified stream, and in the LRS once; the relay lease moves."""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.lrs import LrsClient
from gateway.xapi import statement_id
from records import chain, keys
from records.record import parse_unverified
from tests.support.county import TestCounty
from tests.support.fleet import Fleet, SimKiosk, healthy, metric
from tests.support.lrs import Lrs
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import TestClient
from tests.support.ports import free_port
from tests.support.postgres import database
from tests.support.venue import GatewayProcess, wait_until

KIOSKS = 50
ROUNDS = 12


@pytest.fixture
def lrs() -> Iterator[Lrs]:
    server = Lrs().start()
    yield server
    server.stop()


def holder(gateways: list[GatewayProcess]) -> GatewayProcess | None:
    for g in gateways:
        if g.proc is not None and g.proc.poll() is None:
            try:
                if metric(g.metrics_port, "learncard_relay_holder") == 1:
                    return g
            except OSError:
                continue
    return None


def test_three_gateway_processes_killed_at_random(tmp_path: Path, county: TestCounty, lrs: Lrs) -> None:
    rng = random.Random(18)
    seeds = {f"k-t{i:03d}": os.urandom(32) for i in range(KIOSKS)}
    venues = {k: f"v-t{i // 5:02d}" for i, k in enumerate(seeds)}
    kiosks = [SimKiosk(k, venues[k], keys.private_key_from_seed(s), resend_after=5) for k, s in seeds.items()]
    for k, s in seeds.items():
        county.kiosk_keys[k] = keys.private_key_from_seed(s)
    broker = Mosquitto(tmp_path / "broker").start()
    gateways: list[GatewayProcess] = []
    with database() as url:
        try:
            for n in range(3):
                g = GatewayProcess(county, tmp_path / f"gateway-{n}", broker, kiosks=venues,
                                   lrs_endpoint=lrs.endpoint, metrics_port=free_port(), store_url=url,
                                   client_id=f"gateway-{n + 1}", settings={"gap_grace_seconds": 2})
                gateways.append(g.start())
            for g in gateways:
                wait_until("a healthy gateway", lambda g=g: healthy(g.metrics_port), 120)
            watcher = TestClient(broker.port, client_id="consumer-test")
            watcher.wait_connected()
            watcher.subscribe("lc/v1/verified/#")
            fleet = Fleet(kiosks, broker.port)
            fleet.connect_all()
            moved: tuple[str, str] | None = None
            for r in range(ROUNDS):
                for k in kiosks:
                    for _ in range(2):
                        k.tap(relayed=True)
                fleet.pump(1.0)
                if r in (2, 6, 9):  # a gateway process dies mid-stream and comes back
                    victim = rng.choice(gateways)
                    victim.kill()
                    fleet.pump(1.0)
                    victim.start()
                if r == 4:  # the relay holder dies; another process takes the lease
                    assert fleet.run_until(lambda: holder(gateways) is not None, 60), "nobody holds the relay"
                    first = holder(gateways)
                    assert first is not None
                    first.kill()
                    assert fleet.run_until(lambda first=first: holder(gateways) not in (None, first), 60), \
                        "the relay lease did not move"
                    second = holder(gateways)
                    assert second is not None
                    moved = (first.client_id, second.client_id)
                    first.start()
            assert fleet.run_until(lambda: not any(k.unsettled() for k in kiosks), 240), \
                f"unsettled: {sum(k.unsettled() for k in kiosks)}"
            made = {rid for k in kiosks for rid in k.taps}
            client = LrsClient(lrs.endpoint, "gateway", "secret")
            wait_until("the LRS to hold every statement", lambda: len(client.get_all()) >= len(made), 240)
            time.sleep(3)  # anything sent twice would arrive now
            in_lrs = Counter(s["id"] for s in client.get_all())
            streamed = Counter()
            while not watcher.messages.empty():
                for token in watcher.messages.get().payload.decode().split("\n"):
                    streamed[parse_unverified(token).id] += 1
            store = gateways[0].store()
            tokens = store.tokens()
            store.close()
            watcher.close()
            fleet.disconnect_all()
        finally:
            for g in gateways:
                g.kill()
            broker.kill()
    stored = Counter(parse_unverified(t).id for t in tokens)
    assert made == set(stored) and max(stored.values()) == 1
    records = [parse_unverified(t) for t in tokens]
    for k in kiosks:
        assert chain.verify_chain(r for r in records if r.kiosk == k.kiosk).ok
    assert {statement_id(rid) for rid in made} == set(in_lrs) and max(in_lrs.values()) == 1
    # the stream is at least once: a record whose first publisher died is published on its re-send
    assert made == set(streamed)
    assert moved is not None and moved[0] != moved[1]
