"""Kiosk → Mosquitto → gateway → receipts, with real processes, and the faults of issue 4."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from records import chain
from records.record import parse_unverified
from tests.support.county import TestCounty
from tests.support.gateway import KioskChain, payload
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import TestClient
from tests.support.venue import ROOT, GatewayProcess, kiosk_online, wait_until


@pytest.fixture
def gateway(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto):
    gw = GatewayProcess(county, tmp_path / "gateway", mosquitto).start()
    yield gw
    gw.kill()


def pending(app) -> int:
    return app.journal.stats().pending


def tap_all(kiosk, county: TestCounty, n: int) -> None:
    c = kiosk.client()
    for _ in range(n):
        assert c.call("tap", text=county.qr(county.credential()))["outcome"] == "checkin"
    c.close()


def test_happy_path_with_verified_stream(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto,
                                         gateway: GatewayProcess) -> None:
    watcher = TestClient(mosquitto.port)
    assert watcher.wait_connected()
    watcher.subscribe("lc/v1/verified/#")
    kiosk = kiosk_online(county, tmp_path / "kiosk", mosquitto)
    with kiosk.running() as app:
        wait_until("the uplink to connect", lambda: app.agent.online)
        tap_all(kiosk, county, 5)
        wait_until("the outbox to empty", lambda: pending(app) == 0)
        # receipts' time set the clock (just after they settle: wait for it, not a race)
        wait_until("the receipts' time", lambda: app.agent.clock.state in ("gateway", "ntp"))
    assert 5 == gateway.count()
    streamed = []
    wait_until("the verified stream", lambda: (streamed.extend(
        watcher.messages.get_nowait().payload.decode().split("\n")) if not watcher.messages.empty() else None)
        or len(streamed) >= 5)
    store = gateway.store()
    assert sorted(store.tokens()) == sorted(streamed)
    rows = store.kiosk_table()
    store.close()
    assert "k-test-1" == rows[0]["kiosk"]
    watcher.close()


def test_broker_down_for_a_while(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto,
                                 gateway: GatewayProcess) -> None:
    kiosk = kiosk_online(county, tmp_path / "kiosk", mosquitto)
    with kiosk.running() as app:
        wait_until("the uplink", lambda: app.agent.online)
        mosquitto.stop()
        wait_until("the kiosk to notice", lambda: not app.agent.online)
        tap_all(kiosk, county, 4)  # offline: recorded, answered, waiting
        assert 4 == pending(app)
        mosquitto.start()
        wait_until("the outbox to drain after the broker came back", lambda: pending(app) == 0, 90)
    assert 4 == gateway.count()


def test_gateway_killed_mid_batch_and_restarted(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto,
                                                gateway: GatewayProcess) -> None:
    kiosk = kiosk_online(county, tmp_path / "kiosk", mosquitto)
    with kiosk.running() as app:
        signer = app.agent.signer
        app.journal.append_many([signer.maker("kiosk.checkpoint", {"pending": 0, "journal_bytes": 0})
                                 for _ in range(3000)])
        wait_until("some records to arrive", lambda: gateway.count() > 200, 60)
        gateway.kill()
        gateway.start()
        wait_until("the outbox to empty", lambda: pending(app) == 0, 120)
    store = gateway.store()
    tokens = store.tokens("k-test-1")
    store.close()
    assert 3000 == len(tokens) == len(set(tokens))
    assert chain.verify_chain(parse_unverified(t) for t in tokens).ok


def test_kiosk_restarted_with_records_pending(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto) -> None:
    gw = GatewayProcess(county, tmp_path / "gateway", mosquitto)  # not started yet
    kiosk = kiosk_online(county, tmp_path / "kiosk", mosquitto)
    with kiosk.running() as app:
        tap_all(kiosk, county, 3)
        assert 3 == pending(app)
    gw.start()
    try:
        with kiosk.running() as app:
            wait_until("the outbox to drain after the restart", lambda: pending(app) == 0, 60)
        assert 3 == gw.count()
    finally:
        gw.kill()


def test_revocation_list_reaches_the_kiosk(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto,
                                           gateway: GatewayProcess) -> None:
    lost = county.credential()
    kiosk = kiosk_online(county, tmp_path / "kiosk", mosquitto)
    with kiosk.running() as app:
        wait_until("the first list", lambda: app.agent.docs.version("revoked-cards") == 1)
        gateway.write_documents(version=2, revoked_cards=[lost.card_id])
        gateway.reload()
        wait_until("the new list", lambda: app.agent.docs.version("revoked-cards") == 2)
        c = kiosk.client()
        result = c.call("tap", text=county.qr(lost))
        c.close()
        assert ("rejected", "revoked") == (result["outcome"], result["reason"])


def test_revoked_kiosk_is_refused_after_reload(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto,
                                               gateway: GatewayProcess) -> None:
    kiosk = kiosk_online(county, tmp_path / "kiosk", mosquitto)
    with kiosk.running() as app:
        tap_all(kiosk, county, 1)
        wait_until("the first record", lambda: pending(app) == 0)
        gateway.write_documents(version=2, revoked=("k-test-1",))
        gateway.reload()
        time.sleep(1.5)
        tap_all(kiosk, county, 1)
        wait_until("the refusal to settle it", lambda: pending(app) == 0)
        assert 1 == app.journal.stats().rejected
        reason = app.journal.conn.execute("SELECT reason FROM rejected").fetchone()[0]
        assert "revoked-kiosk" == reason
    assert 1 == gateway.count()


def test_bad_messages_get_an_error_and_the_gateway_stays_up(tmp_path: Path, county: TestCounty,
                                                             mosquitto: Mosquitto, gateway: GatewayProcess) -> None:
    """Garbage and an oversized payload on a kiosk's topic: {"error": …} back, nothing stored,
    and the next good message is still processed."""
    kiosk = TestClient(mosquitto.port)
    assert kiosk.wait_connected()
    kiosk.subscribe("lc/v1/county/registry")  # published by the gateway once it has subscribed
    assert "lc/v1/county/registry" == kiosk.messages.get(timeout=30).topic
    kiosk.subscribe("lc/v1/k-test-1/ack")
    time.sleep(0.3)
    for raw, error in ((b"garbage \xff", "malformed"), (b"x" * (256 * 1024 + 10), "too-large")):
        kiosk.publish("lc/v1/k-test-1/rec", raw)
        assert {"error": error} == json.loads(kiosk.messages.get(timeout=20).payload)
    good = KioskChain(county).many(2)
    kiosk.publish("lc/v1/k-test-1/rec", payload(good))
    receipt = json.loads(kiosk.messages.get(timeout=20).payload)
    assert (2, good[-1].hash) == (receipt["upto"], receipt["head"])
    assert 2 == gateway.count()
    kiosk.close()


def test_quarantined_journal_starts_an_epoch_the_gateway_accepts(tmp_path: Path, county: TestCounty,
                                                                 mosquitto: Mosquitto,
                                                                 gateway: GatewayProcess) -> None:
    kiosk = kiosk_online(county, tmp_path / "kiosk", mosquitto)
    with kiosk.running() as app:
        tap_all(kiosk, county, 3)
        wait_until("the first epoch to settle", lambda: pending(app) == 0)
        path, first_epoch = app.journal.path, app.journal.epoch
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    with open(path, "r+b") as handle:  # the SD card went bad under the journal
        handle.seek(100)
        handle.write(os.urandom(4000))
    with kiosk.running() as app:
        second_epoch = app.journal.epoch
        assert first_epoch != second_epoch  # a fresh random epoch, linked to the last receipt's head
        tap_all(kiosk, county, 2)
        wait_until("the new epoch to settle", lambda: pending(app) == 0)
        assert 0 == app.journal.stats().rejected
    store = gateway.store()
    epochs = dict(store.query("SELECT epoch, count(*) FROM records GROUP BY epoch"))
    alerts = store.query("SELECT kind FROM alerts")
    store.close()
    assert {first_epoch: 3, second_epoch: 2} == epochs
    assert [] == alerts  # linked to a head the gateway knows: not a fresh start
    assert list(path.parent.glob("journal.sqlite3.corrupt-*"))


def test_the_demo_runs(tmp_path: Path) -> None:
    """The README's first command, minus set-up: the whole venue over mutual TLS and the ACL."""
    result = subprocess.run([sys.executable, "-m", "learncard", "demo", "--headless", "--keep", str(tmp_path / "demo")],
                            cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert 0 == result.returncode, result.stdout[-3000:] + result.stderr[-3000:]
    assert "each once" in result.stdout and "0 pending" in result.stdout
