"""Kiosk hot path: tap → durable signed record, burst sign+append, card verification, agent RSS.

Baselines measured in the same run: a raw sqlite3 insert+commit with the same pragmas
(WAL, synchronous=FULL) and a row of the same size; raw Ed25519 sign and verify.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from bench.result import Result, interleave, interleave_samples, percentile
from kiosk.control import ControlClient
from kiosk.reader.base import CardRead
from records import card
from tests.support.county import TestCounty
from tests.support.kiosk import KioskSetup

ROOT = Path(__file__).resolve().parent.parent
GROUP = "Kiosk journal and agent (issue 2)"


class RawSqlite:
    """The baseline of a tap: one row of the record's size inserted and committed, with the
    journal's pragmas (WAL, synchronous=FULL), in a database of its own."""

    def __init__(self, path: Path, row_bytes: int) -> None:
        import sqlite3

        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("CREATE TABLE t (epoch INTEGER, seq INTEGER, id TEXT UNIQUE, token TEXT, "
                          "PRIMARY KEY (epoch, seq))")
        self.payload = "x" * row_bytes
        self.seq = 0

    def latencies(self, n: int) -> list[float]:
        out = []
        for _ in range(n):
            self.seq += 1
            t0 = time.perf_counter()
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("INSERT INTO t VALUES (1, ?, ?, ?)", (self.seq, f"{self.seq:036d}", self.payload))
            self.conn.execute("COMMIT")
            out.append(time.perf_counter() - t0)
        return out

    def close(self) -> None:
        self.conn.close()


def raw_rate(fn, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - t0)


ROUNDS = 5
SHARED = "The two-core machine was shared with other helpers' work; figure and baseline ran in interleaved rounds."


def run(quick: bool) -> list[Result]:
    n = 1_000 if quick else 10_000  # taps, in ROUNDS interleaved rounds
    results: list[Result] = []
    county = TestCounty()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        setup = KioskSetup(county, folder / "kiosk")
        setup.set("rules", "debounce_seconds", 0)
        cards = [county.qr(county.credential()) for _ in range(50)]
        with setup.running() as app:
            # warm up, then time Agent.on_read end to end (verify, rules, sign, commit)
            for text in cards[:10]:
                app.agent.on_read(CardRead("qr", "bench", text=text))
            token_bytes = len(app.journal.records_between(app.journal.epoch, 1, 1)[0])
            raw_db = RawSqlite(folder / "raw.sqlite3", token_bytes)
            taps = [0]

            def tap_latencies(_: int) -> list[float]:
                out = []
                for _ in range(n // ROUNDS):
                    read = CardRead("qr", "bench", text=cards[taps[0] % len(cards)])
                    taps[0] += 1
                    t0 = time.perf_counter()
                    app.agent.on_read(read)
                    out.append(time.perf_counter() - t0)
                return out

            tapped = interleave_samples(ROUNDS, tap_latencies, lambda _: raw_db.latencies(n // ROUNDS))
            raw_db.close()
            # burst: sign + append in grouped commits of 100, in rounds interleaved with raw
            # signing of messages of the same size
            signer = app.agent.signer
            burst = 1_000 if quick else 5_000
            key = county.kiosk_key("k-test-1")
            message = b"x" * token_bytes

            def burst_round(_: int) -> float:
                t0 = time.perf_counter()
                for _ in range(burst // 100):
                    app.journal.append_many([signer.maker("kiosk.checkpoint", {"pending": 0, "journal_bytes": 0})
                                             for _ in range(100)])
                return burst / (time.perf_counter() - t0)

            bursts = interleave(3 if quick else 7, burst_round, lambda _: raw_rate(lambda: key.sign(message), burst))
        # card verification: the QR text → a verified credential, beside the raw Ed25519 verify
        # of a message of the card's size, both over the same cards
        issuer = county.issuer
        issuers = {county.county_id: issuer.public_key()}
        blobs = [county.card_bytes(county.credential()) for _ in range(20)]
        texts = [card.to_qr_text(b) for b in blobs]
        signed = [(sig, card.sig_structure(protected, body)) for protected, body, sig, _ in map(card._unpack, blobs)]
        public = issuer.public_key()
        count = 1_000 if quick else 5_000

        def verify_cards(_: int) -> float:
            i = iter(range(count))
            return raw_rate(lambda: card.verify(card.from_qr_text(texts[next(i) % len(texts)]), issuers), count)

        def verify_raw(_: int) -> float:
            i = iter(range(count))

            def one() -> None:
                sig, msg = signed[next(i) % len(signed)]
                public.verify(sig, msg)
            return raw_rate(one, count)

        verified = interleave(ROUNDS, verify_cards, verify_raw)

    goal99 = "p99 ≤ 1.5× raw"
    met99 = percentile(tapped.pooled, 99) <= 1.5 * percentile(tapped.pooled_baseline, 99)
    results += [
        Result.of_samples(GROUP, "tap → durable signed record, p50", tapped, 50, "ms",
                          "raw sqlite insert+commit p50", scale=1000),
        Result.of_samples(GROUP, "tap → durable signed record, p99", tapped, 99, "ms",
                          "raw sqlite insert+commit p99", goal99, met99,
               "A tap also verifies the card (Ed25519 verify) and signs the record (together about "
               "0.25 ms here), reads the learner's state, and its one fsync'd commit writes five to six "
               "B-tree pages (record, outbox, open check-ins, last taps, day and year summaries) where the "
               "raw baseline writes two; profiled, that commit alone takes about twice the raw one. "
               f"{ROUNDS} interleaved rounds of {n // ROUNDS:,} taps and {n // ROUNDS:,} raw commits; the "
               "percentiles are over all rounds' samples. " + SHARED, scale=1000),
        Result.of_rounds(GROUP, "burst sign + append (grouped commits of 100)", bursts, "records/s",
               "raw Ed25519 sign", "≥ 0.5× raw signing", bursts.ratio >= 0.5,
               "Building the CloudEvent (UUIDv7, RFC 3339 time, the no-floats check), serializing it "
               "and the chain hash cost about twice the signature in Python."),
        Result.of_rounds(GROUP, "card verifications (QR text → verified credential)", verified, "cards/s",
                         "raw Ed25519 verify of the same cards' signatures",
                         note=f"{count:,} verifications a round, the same 20 cards on both sides (the raw side "
                              "verifies each card's own signature over its own signed bytes). A card verification "
                              "also decodes the QR text and unpacks and checks the credential. " + SHARED),
    ]
    results.append(agent_rss(quick))
    return results


def agent_rss(quick: bool) -> Result:
    """RSS of a real `learncard kiosk agent` process after a run of taps over its socket, in
    the configuration a kiosk runs (``bench/kiosk_agent.py``)."""
    from bench.kiosk_agent import kiosk_agent

    county = TestCounty()
    with tempfile.TemporaryDirectory() as tmp, kiosk_agent(county, Path(tmp)) as agent:
        client = ControlClient(agent.setup.socket)
        cards = [county.qr(county.credential()) for _ in range(20)]
        for i in range(300 if quick else 3_000):
            client.call("tap", text=cards[i % len(cards)])
        client.close()
        rss = agent.rss_mb()
        stored = agent.stored()
    return Result(GROUP, "agent RSS after a run of taps (uplink to a gateway; NFC, HID and camera readers)",
                  rss, "MB", goal="≤ 60 MB", met=rss <= 60,
                  note=f"The agent as a kiosk runs it: {stored:,} records had reached the gateway's store when "
                       "RSS was read; the readers' libraries (nfcpy, evdev, OpenCV and zxing-cpp where installed) "
                       "are loaded, their devices absent.")


if __name__ == "__main__":
    for r in run("--quick" in sys.argv):
        print(r)
    os._exit(0)
