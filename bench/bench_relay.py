"""Relay throughput to the test LRS beside the LRS's own raw batch POST rate (same batch
size, same run): how much the relay adds on top of what the LRS can take."""

from __future__ import annotations

import json
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from bench.result import Result
from gateway.county_files import CountyFiles
from gateway.ingest import Ingest
from gateway.lrs import LrsClient
from gateway.relay import Relay
from gateway.store import Store
from gateway.xapi import to_statement
from learncard.demo.lrs import Lrs
from records.ids import learner_code
from tests.support.county import TestCounty
from tests.support.gateway import NOW, KioskChain, payload

GROUP = "Relay to the county LRS (issue 5)"
BATCH = 100
HOME = "https://learn.county-bench.example"


def checkout(i: int, checkin_id: str | None = None) -> dict:
    return {"learner": learner_code(100_000_000_000 + i), "card": "ab" * 8, "session_id": None,
            "checkin_id": checkin_id or str(uuid.uuid4()), "checkin_time": "2026-11-23T09:02:00.000+08:00",
            "seconds_present": 3600, "minutes_credited": 60, "how": "qr"}


def visit(chain: KioskChain, i: int) -> list:
    """A check-in and its check-out (the gateway holds a check-out without its check-in)."""
    checkin = chain.next("attendance.checkin", {"learner": learner_code(100_000_000_000 + i), "card": "ab" * 8,
                                                "session_id": None, "how": "qr", "groups": []})
    return [checkin, chain.next("attendance.checkout", checkout(i, checkin.id))]


def raw_rate(lrs: Lrs, statements: list[dict]) -> float:
    headers = {"Content-Type": "application/json", "X-Experience-API-Version": "1.0.3",
               "Authorization": "Basic YjpC"}
    url = lrs.endpoint + "/statements"
    t0 = time.perf_counter()
    for i in range(0, len(statements), BATCH):
        body = json.dumps(statements[i:i + BATCH]).encode()
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 (loopback)
            answer.read()
    return len(statements) / (time.perf_counter() - t0)


def run(quick: bool) -> list[Result]:
    n = 1_000 if quick else 5_000
    county = TestCounty()
    lrs = Lrs().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "registry.jws").write_text(county.registry({"k-test-1": "v-test"}).token)
            files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": folder / "registry.jws"})
            files.load(first=True)
            store = Store.open(f"sqlite:///{folder / 'gw.sqlite3'}")
            chain = KioskChain(county)
            recs = [r for i in range(n) for r in visit(chain, i)]  # n statements: check-ins have none
            ingest = Ingest(store, files, lambda: NOW)
            for i in range(0, len(recs), 200):
                ingest.handle("k-test-1", payload(recs[i:i + 200]))
            # the baseline: the same kind of statements, other ids, posted raw
            others = [chain.next("attendance.checkout", checkout(n + i)) for i in range(n)]
            raw = raw_rate(lrs, [s for r in others if (s := to_statement(r, HOME, lambda _sid: None))])
            relay = Relay(store, LrsClient(lrs.endpoint, "b", "B"), HOME, batch_size=BATCH)
            t0 = time.perf_counter()
            while relay.step():
                pass
            rate = relay.stats.delivered / (time.perf_counter() - t0)
            store.close()
    finally:
        lrs.stop()
    return [Result(GROUP, f"relay throughput, {n:,} statements in batches of {BATCH}", rate, "statements/s",
                   "raw batch POST to the same LRS", raw, "≥ 0.8× raw", rate >= 0.8 * raw)]
