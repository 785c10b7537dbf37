"""Store-and-forward speed: backlog drain end to end, one gateway worker's verify+commit
rate, tap → gateway commit latency online.

Baselines in the same run: raw paho QoS 1 publish→receive of the same payloads through the
same broker, and the raw Ed25519 verify rate on one core.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

from bench.result import Result, interleave, median, percentile
from gateway.county_files import CountyFiles
from gateway.ingest import Ingest
from gateway.store import Store
from tests.support.county import TestCounty
from tests.support.gateway import NOW, KioskChain, payload
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import TestClient
from tests.support.venue import GatewayProcess, kiosk_online, wait_until

GROUP = "Store and forward: kiosk → broker → gateway (issue 4)"
BATCH = 200


def raw_verify_rate(county: TestCounty, n: int = 5000) -> float:
    rec = KioskChain(county).next()
    key = county.kiosk_key("k-test-1").public_key()
    head, body, sig = rec.token.split(".")
    from records.encoding import b64url_decode

    signature, message = b64url_decode(sig), f"{head}.{body}".encode()
    t0 = time.perf_counter()
    for _ in range(n):
        key.verify(signature, message)
    return n / (time.perf_counter() - t0)


def raw_mqtt_rate(port: int, payloads: list[bytes], records: int) -> float:
    """Records/s of plain QoS 1 publish → receive of the same messages (no verification)."""
    sub, pub = TestClient(port, client_id="raw-sub"), TestClient(port, client_id="raw-pub")
    sub.wait_connected()
    pub.wait_connected()
    sub.subscribe("raw/test")
    time.sleep(0.3)
    t0 = time.perf_counter()
    for p in payloads:
        pub.client.publish("raw/test", p, qos=1)
    for _ in payloads:
        sub.messages.get(timeout=60)
    rate = records / (time.perf_counter() - t0)
    sub.close()
    pub.close()
    return rate


def worker_rate(county: TestCounty, folder: Path, recs: list) -> float:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "registry.jws").write_text(county.registry({"k-test-1": "v-test"}).token)
    files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": folder / "registry.jws"})
    files.load(first=True)
    ingest = Ingest(Store.open(f"sqlite:///{folder / 'w.sqlite3'}"), files, lambda: NOW)
    batches = [payload(recs[i:i + BATCH]) for i in range(0, len(recs), BATCH)]
    t0 = time.perf_counter()
    for b in batches:
        ingest.handle("k-test-1", b)
    return len(recs) / (time.perf_counter() - t0)


def run(quick: bool) -> list[Result]:
    backlog = 10_000 if quick else 100_000
    county = TestCounty()
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker = Mosquitto(folder / "broker").start()
        try:
            chain = KioskChain(county)
            recs = chain.many(min(backlog, 20_000))
            # interleaved rounds, median of the rounds' ratios: this machine's speed drifts
            worker = interleave(3 if quick else 7,
                                lambda i: worker_rate(county, folder / f"worker-{i}", recs),
                                lambda i: raw_verify_rate(county))
            # the baseline carries the drain's whole backlog: the same number of records in
            # messages of the same size (signed checkpoints of the same chain)
            full = recs + chain.many(backlog - len(recs)) if backlog > len(recs) else recs
            payloads = [payload(full[i:i + BATCH]) for i in range(0, len(full), BATCH)]
            raw = raw_mqtt_rate(broker.port, payloads, len(full))
            gateway = GatewayProcess(county, folder / "gateway", broker)
            kiosk = kiosk_online(county, folder / "kiosk", broker)
            kiosk.values["uplink"]["host"] = ""  # fill the journal offline first
            kiosk.write()
            with kiosk.running() as app:
                signer = app.agent.signer
                for _ in range(backlog // 1000):
                    app.journal.append_many([signer.maker("kiosk.checkpoint", {"pending": 0, "journal_bytes": 0})
                                             for _ in range(1000)])
            gateway.start()
            kiosk.values["uplink"]["host"] = "127.0.0.1"
            kiosk.write()
            db = folder / "gateway" / "gateway.sqlite3"
            wait_until("the gateway's store", db.exists, 30)
            t0 = time.perf_counter()
            with kiosk.running() as app:
                wait_until("the backlog to drain", lambda: app.journal.stats().pending == 0, 900)
                drain = backlog / (time.perf_counter() - t0)
                latencies = tap_latency(kiosk, county, db, 30 if quick else 1000)
            gateway.stop()
        finally:
            broker.kill()
    results += [
        Result(GROUP, f"backlog drain of {backlog:,} records, end to end", drain, "records/s",
               "raw paho QoS 1 publish→receive, same payloads", raw, "≥ 5,000 records/s", drain >= 5000,
               "End to end = kiosk uplink (journal reads, window of 8 messages of 200) → Mosquitto → gateway "
               "(verify, schema, chain, commit, receipt, republish) → receipt → kiosk settles."),
        Result.of_rounds(GROUP, "one gateway worker: verify + check + commit (in process)", worker, "records/s",
               "raw Ed25519 verify, one core", "≥ 0.7× raw verify (issue 18)", worker.ratio >= 0.7,
               "Per record the worker also parses the JWS and the CloudEvent and runs the JSON Schema (the SQL "
               "is per message: one query for ids already taken, one multi-row insert, the chain update); that "
               "Python costs nearly as much as the verify. "
               "The end-to-end drain is bound by this one worker (the kiosk, broker and gateway "
               "share 2 cores here); more workers on the shared subscription with the PostgreSQL store is the "
               "way past it, not measured here."),
        Result(GROUP, "tap → gateway commit latency p50 at 10 taps/s", median(latencies) * 1000, "ms",
               n=len(latencies)),
        Result(GROUP, "tap → gateway commit latency p99 at 10 taps/s", percentile(latencies, 99) * 1000, "ms",
               goal="p99 ≤ 250 ms", met=percentile(latencies, 99) <= 0.25, n=len(latencies)),
    ]
    return results


def tap_latency(kiosk, county: TestCounty, db: Path, n: int) -> list[float]:
    client = kiosk.client()
    conn = sqlite3.connect(db)
    cards = [county.qr(county.credential()) for _ in range(n)]
    out = []
    try:
        for text in cards:
            t0 = time.perf_counter()
            record_id = client.call("tap", text=text)["record_id"]
            while conn.execute("SELECT 1 FROM records WHERE id = ?", (record_id,)).fetchone() is None:
                time.sleep(0.001)
            out.append(time.perf_counter() - t0)
            time.sleep(max(0.0, 0.1 - (time.perf_counter() - t0)))
    finally:
        conn.close()
        client.close()
    return out



