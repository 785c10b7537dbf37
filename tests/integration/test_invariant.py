"""The invariant: 20,000 records through kiosk → broker → gateway while the broker is
restarted (cleanly and with SIGKILL) and the gateway is killed with SIGKILL, at random.
At the end the store holds exactly those 20,000 records, once each, the chain verifies,
and the kiosk's outbox is empty."""

from __future__ import annotations

import random
import time
from pathlib import Path

from records import chain
from records.record import parse_unverified
from tests.support.county import TestCounty
from tests.support.mosquitto import Mosquitto
from tests.support.venue import GatewayProcess, kiosk_online, wait_until

TOTAL = 20_000


def test_twenty_thousand_records_through_faults(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto) -> None:
    rng = random.Random(4)
    gateway = GatewayProcess(county, tmp_path / "gateway", mosquitto).start()
    kiosk = kiosk_online(county, tmp_path / "kiosk", mosquitto)
    made: list[str] = []
    try:
        with kiosk.running() as app:
            app_epoch = app.journal.epoch  # a fresh random epoch (contract 1.1)
            signer = app.agent.signer
            for _ in range(TOTAL // 500):
                recs = app.journal.append_many(
                    [signer.maker("kiosk.checkpoint", {"pending": 0, "journal_bytes": 0}) for _ in range(500)])
                made += [r.token for r in recs]
            faults = ["broker-restart", "broker-kill", "gateway-kill", "gateway-kill", "broker-kill"]
            rng.shuffle(faults)
            for fault in faults:
                goal = gateway.count() + rng.randint(500, 2500)
                wait_until("progress before the next fault", lambda g=goal: gateway.count() >= g
                           or app.journal.stats().pending == 0, 120)
                if fault == "broker-restart":
                    mosquitto.restart()
                elif fault == "broker-kill":
                    mosquitto.kill()
                    time.sleep(rng.uniform(0.2, 1.5))
                    mosquitto.start()
                else:
                    gateway.kill()
                    time.sleep(rng.uniform(0.2, 1.5))
                    gateway.start()
            wait_until("the outbox to empty", lambda: app.journal.stats().pending == 0, 240)
            assert 0 == app.journal.stats().rejected
        store = gateway.store()
        tokens = store.tokens("k-test-1")
        store.close()
    finally:
        gateway.kill()
    assert TOTAL == len(tokens) == len(set(tokens))
    assert sorted(made) == sorted(tokens)
    report = chain.verify_chain(parse_unverified(t) for t in tokens)
    assert report.ok and (TOTAL, made[-1] and parse_unverified(made[-1]).hash) == report.heads[app_epoch]
