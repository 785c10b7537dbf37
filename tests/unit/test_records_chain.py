"""Chain verification finds every gap, fork and duplicate."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from records import chain
from tests.unit.test_records_sign import make


def build_chain(n: int, epoch: int = 1, start_prev: str = "") -> list:
    out, prev = [], start_prev
    for seq in range(1, n + 1):
        rec = make(seq=seq, prev=prev, epoch=epoch)
        out.append(rec)
        prev = rec.hash
    return out


class TestVerifyChain:
    def test_whole_chain_is_ok(self) -> None:
        recs = build_chain(10)
        report = chain.verify_chain(reversed(recs))
        assert report.ok
        assert (10, recs[9].hash) == report.heads[1]

    def test_gap_is_reported_as_inclusive_range(self) -> None:
        recs = build_chain(10)
        report = chain.verify_chain(recs[:3] + recs[6:])
        assert [(1, 4, 6)] == report.gaps
        assert not report.forks

    def test_resend_is_a_duplicate_not_an_error(self) -> None:
        recs = build_chain(3)
        report = chain.verify_chain(recs + [recs[1]])
        assert report.ok
        assert [(1, 2)] == report.duplicates

    def test_two_records_at_one_seq_is_a_fork(self) -> None:
        recs = build_chain(3)
        other = make(seq=2, prev=recs[0].hash)
        report = chain.verify_chain(recs + [other])
        assert [chain.Fork(1, 2, "two-records")] == report.forks

    def test_broken_link_is_a_fork(self) -> None:
        recs = build_chain(3)
        recs[2] = make(seq=3, prev="not-the-hash")
        report = chain.verify_chain(recs)
        assert [chain.Fork(1, 3, "bad-link")] == report.forks

    def test_epochs_are_checked_separately(self) -> None:
        first = build_chain(3)
        second = build_chain(2, epoch=2, start_prev=first[1].hash)
        report = chain.verify_chain(first + second)
        assert report.ok
        assert first[1].hash == report.epoch_starts[2]

    def test_missing_ranges(self) -> None:
        assert [(1, 1), (4, 5), (9, 9)] == chain.missing_ranges([2, 3, 6, 7, 8], 9)
        assert [] == chain.missing_ranges([], 0)


CHAIN = build_chain(40)


@settings(max_examples=150, deadline=None)
@given(
    dropped=st.sets(st.integers(min_value=0, max_value=39), max_size=15),
    forked=st.sets(st.integers(min_value=1, max_value=39), max_size=5),
    seed=st.integers(),
)
def test_every_gap_and_fork_is_found(dropped: set[int], forked: set[int], seed: int) -> None:
    """Drop and fork any records, shuffle: the report names exactly what was done."""
    recs = [r for i, r in enumerate(CHAIN) if i not in dropped]
    forked = {i for i in forked if i not in dropped}
    recs += [make(seq=i + 1, prev=CHAIN[i - 1].hash) for i in forked]
    random.Random(seed).shuffle(recs)
    report = chain.verify_chain(recs)
    top = max(i for i in range(40) if i not in dropped) + 1 if len(dropped) < 40 else 0
    expected_missing = {i + 1 for i in dropped if i + 1 < top}
    reported = {s for (_e, lo, hi) in report.gaps for s in range(lo, hi + 1)}
    assert expected_missing == reported
    assert {i + 1 for i in forked} == {f.seq for f in report.forks if f.why == "two-records"}
