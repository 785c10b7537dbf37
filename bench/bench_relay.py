"""Relay throughput to the test LRS beside a raw batch POST of the same statements to the same
LRS, in interleaved rounds: how much the relay adds on top of what the LRS can take."""

from __future__ import annotations

import json
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from bench.result import Result, interleave
from gateway.county_files import CountyFiles
from gateway.ingest import Ingest
from gateway.lrs import LrsClient
from gateway.relay import Relay
from gateway.store import Store
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


def post_raw(lrs: Lrs, batches: list[list[dict]]) -> float:
    """Seconds to POST ``batches`` of statements to the LRS as they are, one request each."""
    headers = {"Content-Type": "application/json", "X-Experience-API-Version": "1.0.3",
               "Authorization": "Basic YjpC"}
    url = lrs.endpoint + "/statements"
    t0 = time.perf_counter()
    for batch in batches:
        request = urllib.request.Request(url, data=json.dumps(batch).encode(), method="POST",  # noqa: S310
                                         headers=headers)
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 (loopback)
            answer.read()
    return time.perf_counter() - t0


def run(quick: bool) -> list[Result]:
    n, rounds = (200, 5) if quick else (2_000, 7)
    county = TestCounty()
    lrs = Lrs().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "registry.jws").write_text(county.registry({"k-test-1": "v-test"}).token)
            files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": folder / "registry.jws"})
            files.load(first=True)
            store = Store.open(f"sqlite:///{folder / 'gw.sqlite3'}")
            chain, twin = KioskChain(county), KioskChain(county)
            ingest = Ingest(store, files, lambda: NOW)
            relay = Relay(store, LrsClient(lrs.endpoint, "b", "B"), HOME, batch_size=BATCH)
            first = [0]

            def relayed(i: int) -> float:
                """The relay sends round i's records, ingested (untimed) into the gateway's store."""
                recs = [r for k in range(n) for r in visit(chain, first[0] + k)]
                for k in range(0, len(recs), 200):
                    ingest.handle("k-test-1", payload(recs[k:k + 200]))
                before, t0 = relay.stats.delivered, time.perf_counter()
                while relay.step():
                    pass
                sent = relay.stats.delivered - before
                if sent != n:
                    raise RuntimeError(f"round {i}: the relay sent {sent} statements, not {n}")
                first[0] += n
                return sent / (time.perf_counter() - t0)

            def raw(_: int) -> float:
                """The very statements the relay makes (``Relay.statement``) for a twin set of
                records — other ids, as the LRS would take repeated ids for duplicates — in the
                batches the relay would send them (100 records: 50 check-ins, which make no
                statement, and 50 check-outs), posted as they are."""
                recs = [r for k in range(n) for r in visit(twin, 10**6 + first[0] + k)]
                batches = [[s for r in recs[k:k + BATCH] if (s := relay.statement(r, {}))]
                           for k in range(0, len(recs), BATCH)]
                return sum(map(len, batches)) / post_raw(lrs, batches)

            got = interleave(rounds, relayed, raw)
            store.close()
    finally:
        lrs.stop()
    return [Result.of_rounds(
        GROUP, f"relay throughput, {n:,} statements per round ({2 * n:,} records, {BATCH} records a batch)", got,
        "statements/s", "raw batch POST of the same statements to the same LRS", "≥ 0.8× raw", got.ratio >= 0.8,
        note="Each round the raw POST of the relay's statements for a twin set of records (same kinds, sizes and "
             "batches, other ids), then the relay reading the store, building and posting them; the LRS is the "
             "project's npm test LRS on this machine. The two-core machine was shared with other helpers' work "
             "(load average 2–6): the rates move with it, the ratio of each round much less.")]
