"""Group commit: the record messages waiting in the gateway's inbox are settled in one
transaction, and their receipts go out after that one commit. A message that fails is rolled
back alone; the others' records stay; nothing is answered before the commit that holds it."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest

from gateway.county_files import CountyFiles
from gateway.ingest import Ingest
from gateway.metrics import Metrics
from gateway.service import GatewayService
from gateway.store import Store
from records import chain
from records.record import parse_unverified
from tests.support.county import TestCounty
from tests.support.gateway import NOW, KioskChain, payload
from tests.support.postgres import database

KIOSKS = {"k-a": "v-a", "k-b": "v-b", "k-c": "v-a"}


def county_files(tmp_path: Path, county: TestCounty) -> CountyFiles:
    (tmp_path / "registry.jws").write_text(county.registry(KIOSKS).token)
    files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": tmp_path / "registry.jws"})
    files.load(first=True)
    return files


@pytest.fixture
def ingest(tmp_path: Path, county: TestCounty) -> Ingest:
    return Ingest(Store.open(f"sqlite:///{tmp_path / 'gw.sqlite3'}"), county_files(tmp_path, county), lambda: NOW)


def fail_for(ingest: Ingest, kiosk: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store fails while settling ``kiosk``'s message (inside the transaction, after its
    records were inserted)."""
    review = ingest.plausibility.review

    def failing(tx: Any, who: str, records: list) -> list:
        if who == kiosk:
            raise RuntimeError("disk I/O error")
        return review(tx, who, records)
    monkeypatch.setattr(ingest.plausibility, "review", failing)


def test_a_group_settles_each_kiosk_in_order(ingest: Ingest, county: TestCounty) -> None:
    a, b = KioskChain(county, kiosk="k-a", venue="v-a"), KioskChain(county, kiosk="k-b", venue="v-b")
    ra, rb = a.many(5), b.many(2)
    # k-a's messages in order, one of them re-sent inside the same group (stored once)
    outs = ingest.handle_many([("k-a", payload(ra[:2])), ("k-b", payload(rb)), ("k-a", payload(ra[2:])),
                               ("k-a", payload(ra[1:2]))])
    assert [2, 2, 3, 0] == [o.stored for o in outs]
    assert [2, 2, 5, 5] == [o.receipts[0]["upto"] for o in outs]
    assert 1 == outs[3].duplicates
    assert all(o.failure is None and o.error is None and o.receipts[0]["missing"] == [] for o in outs)
    assert [r.token for r in ra] == ingest.store.tokens("k-a")
    assert [r.token for r in rb] == ingest.store.tokens("k-b")
    assert chain.verify_chain(parse_unverified(t) for t in ingest.store.tokens("k-a")).ok


def test_a_failing_message_is_rolled_back_alone(ingest: Ingest, county: TestCounty,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    a, b, c = (KioskChain(county, kiosk=k, venue=v) for k, v in KIOSKS.items())
    ra, rb, rc = a.many(3), b.many(3), c.many(3)
    fail_for(ingest, "k-b", monkeypatch)
    outs = ingest.handle_many([("k-a", payload(ra)), ("k-b", payload(rb)), ("k-c", payload(rc))])
    assert [None, "RuntimeError", None] == [o.failure and type(o.failure).__name__ for o in outs]
    assert [r.token for r in ra] == ingest.store.tokens("k-a")
    assert [r.token for r in rc] == ingest.store.tokens("k-c")
    assert [] == ingest.store.tokens("k-b")  # nothing of it kept: the kiosk sends it again
    assert [] == ingest.store.query("SELECT upto FROM chains WHERE kiosk = 'k-b'")
    monkeypatch.undo()
    again = ingest.handle("k-b", payload(rb))  # as the kiosk re-sends it
    assert (3, 3, []) == (again.stored, again.receipts[0]["upto"], again.receipts[0]["rejected"])


def test_a_failed_commit_fails_the_whole_group(ingest: Ingest, county: TestCounty,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = KioskChain(county, kiosk="k-a", venue="v-a"), KioskChain(county, kiosk="k-b", venue="v-b")

    def broken(self: Any, kiosk: str) -> None:  # the last statement before COMMIT
        raise RuntimeError("database is locked")
    monkeypatch.setattr("gateway.store.Tx.touch_kiosk", broken)
    outs = ingest.handle_many([("k-a", payload(a.many(2))), ("k-b", payload(b.many(2)))])
    assert all(isinstance(o.failure, RuntimeError) for o in outs)
    assert 0 == ingest.store.count()
    with pytest.raises(RuntimeError):  # one message alone: raised, as before group commit
        ingest.handle("k-a", payload(a.made))


class FakeClient:
    """Records what the service publishes, in order; every publish is acknowledged at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def publish(self, topic: str, payload: str | bytes, qos: int = 0, retain: bool = False,
                properties: Any = None) -> Any:
        self.sent.append((topic, payload if isinstance(payload, str) else payload.decode()))
        return SimpleNamespace(rc=mqtt.MQTT_ERR_SUCCESS, is_published=lambda: True)


def message(kiosk: str, body: bytes) -> mqtt.MQTTMessage:
    m = mqtt.MQTTMessage(topic=f"lc/v1/{kiosk}/rec".encode())
    m.payload = body
    return m


def test_the_service_answers_after_the_group_commit(ingest: Ingest, county: TestCounty,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """run() takes the messages waiting in the inbox as one group: one transaction, the
    verified stream (one message per venue) before any receipt, no receipt for the message
    that failed, and the others answered."""
    client = FakeClient()
    service = GatewayService(client, ingest, ingest.store, ingest.county, Metrics(),  # type: ignore[arg-type]
                             "gateways")
    a, b, c = (KioskChain(county, kiosk=k, venue=v) for k, v in KIOSKS.items())
    ra, rb, rc = a.many(2), b.many(2), c.many(2)
    fail_for(ingest, "k-b", monkeypatch)
    begun: list[int] = []
    real_tx = ingest.store.tx

    def counted() -> Any:
        begun.append(len(client.sent))  # what was published when the transaction began
        return real_tx()
    monkeypatch.setattr(ingest.store, "tx", counted)
    for kiosk, recs in (("k-a", ra), ("k-b", rb), ("k-c", rc)):
        assert service.inbox.put(kiosk, message(kiosk, payload(recs)), 1) is None
    worker = threading.Thread(target=service.run)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while len(client.sent) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        service.shutdown()
        worker.join()
    assert [0] == begun  # one transaction for the three messages, nothing sent before it
    assert ["lc/v1/verified/v-a", "lc/v1/k-a/ack", "lc/v1/k-c/ack"] == [t for t, _ in client.sent]
    assert "\n".join(r.token for r in ra + rc) == client.sent[0][1]
    assert service.store_problem is not None and "disk I/O error" in service.store_problem
    assert [] == ingest.store.tokens("k-b")


def test_postgres_takes_every_kiosk_lock_of_a_group_at_once(tmp_path: Path, county: TestCounty) -> None:
    """Two processes settling overlapping groups of kiosks must not deadlock: a group's
    transaction takes all its kiosks' advisory locks in one statement, in one order."""
    files = county_files(tmp_path, county)
    a, b = KioskChain(county, kiosk="k-a", venue="v-a"), KioskChain(county, kiosk="k-b", venue="v-b")
    with database() as url:
        store = Store.open(url)
        other = psycopg.connect(url, autocommit=True)
        try:
            with store.tx() as tx:
                tx.lock_kiosks(["k-a", "k-b"])
                held = [other.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (k,)).fetchone()[0]
                        for k in ("k-a", "k-b", "k-c")]
            assert [False, False, True] == held
            ingest = Ingest(store, files, lambda: NOW)
            outs = ingest.handle_many([("k-b", payload(b.many(2))), ("k-a", payload(a.many(2))),
                                       ("k-b", payload(b.many(1)))])
            assert [2, 2, 3] == [o.receipts[0]["upto"] for o in outs]
            assert 5 == store.count()
        finally:
            other.close()
            store.close()
