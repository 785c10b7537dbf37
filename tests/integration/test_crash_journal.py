"""Crash safety: a writer killed with SIGKILL at random moments, 50 times. After each kill
the journal opens, passes quick_check, its chain verifies, and every record whose append
had returned ("done") is there."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from kiosk.journal import Journal
from kiosk.signer import write_key
from records import chain
from records.record import parse_unverified
from tests.support.county import TestCounty

ROOT = Path(__file__).resolve().parents[2]


def test_fifty_kills(tmp_path: Path, county: TestCounty) -> None:
    key = tmp_path / "kiosk.key"
    write_key(key, county.kiosk_key("k-crash"))
    path = tmp_path / "journal.sqlite3"
    rng = random.Random(20261123)
    done: set[tuple[int, int]] = set()
    for _kill in range(50):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.support.journal_writer", str(path), str(key)],
            cwd=ROOT, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert child.stdout is not None
        first = child.stdout.readline()  # wait until it really writes
        time.sleep(rng.uniform(0.0, 0.15))
        child.send_signal(signal.SIGKILL)
        rest = child.stdout.read()
        child.wait()
        for line in (first + rest).decode().splitlines():
            if line.startswith("done "):
                _, epoch, seq = line.split()
                done.add((int(epoch), int(seq)))

        journal = Journal.open(path)
        try:
            assert None is journal.quick_check()
            assert {journal.epoch} == {e for e, _ in done}, "a kill must never look like corruption"
            tokens = journal.records_between(journal.epoch, 1, journal.seq)
            recs = [parse_unverified(t) for t in tokens]
            report = chain.verify_chain(recs)
            assert report.ok, (report.gaps, report.forks)
            present = {(r.epoch, r.seq) for r in recs}
            assert done <= present, sorted(done - present)[:5]
        finally:
            journal.close()
    assert len(done) > 50
    assert not list(tmp_path.glob("*.corrupt-*"))
