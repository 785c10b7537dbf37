"""Checking the hash chain of one kiosk's records: every gap, fork and duplicate.

Per kiosk and epoch, ``seq`` runs 1, 2, 3 ... with no gaps and each record's ``prev`` is
the link hash of the record before it. A fork is two different records at one ``seq``
(or a record whose ``prev`` does not match its predecessor); a duplicate is the same
record twice (harmless: re-sends).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from records.record import Record


@dataclass(frozen=True)
class Fork:
    epoch: int
    seq: int
    why: str  # "two-records" (same seq, other bytes) or "bad-link" (prev does not match)


@dataclass(frozen=True)
class ChainReport:
    kiosk: str
    gaps: list[tuple[int, int, int]] = field(default_factory=list)  # (epoch, from, to)
    forks: list[Fork] = field(default_factory=list)
    duplicates: list[tuple[int, int]] = field(default_factory=list)  # (epoch, seq)
    heads: dict[int, tuple[int, str]] = field(default_factory=dict)  # epoch -> (seq, hash)
    epoch_starts: dict[int, str] = field(default_factory=dict)  # epoch -> prev of seq 1

    @property
    def ok(self) -> bool:
        return not self.gaps and not self.forks


def missing_ranges(seen: Iterable[int], upto: int, start: int = 1) -> list[tuple[int, int]]:
    """Inclusive ranges of the integers in ``start..upto`` that are not in ``seen``."""
    present = sorted(set(s for s in seen if start <= s <= upto))
    ranges: list[tuple[int, int]] = []
    expected = start
    for s in present:
        if s > expected:
            ranges.append((expected, s - 1))
        expected = s + 1
    if expected <= upto:
        ranges.append((expected, upto))
    return ranges


def verify_chain(records: Iterable[Record], kiosk: str | None = None) -> ChainReport:
    """Report every gap, fork and duplicate among ``records`` (signatures checked elsewhere).

    ``records`` may come in any order and may hold re-sends. Gaps are reported from seq 1
    of each epoch present. Records of another kiosk than the first one are an error.
    """
    by_epoch: dict[int, dict[int, Record]] = {}
    report: ChainReport | None = None
    for rec in records:
        if report is None:
            report = ChainReport(kiosk or rec.kiosk)
        if rec.kiosk != report.kiosk:
            raise ValueError(f"record of kiosk {rec.kiosk!r} in the chain of {report.kiosk!r}")
        seqs = by_epoch.setdefault(rec.epoch, {})
        other = seqs.get(rec.seq)
        if other is None:
            seqs[rec.seq] = rec
        elif other.token == rec.token:
            report.duplicates.append((rec.epoch, rec.seq))
        else:
            report.forks.append(Fork(rec.epoch, rec.seq, "two-records"))
    if report is None:
        return ChainReport(kiosk or "")
    for epoch in sorted(by_epoch):
        seqs = by_epoch[epoch]
        top = max(seqs)
        for lo, hi in missing_ranges(seqs, top):
            report.gaps.append((epoch, lo, hi))
        for seq in sorted(seqs):
            before = seqs.get(seq - 1)
            if before is not None and seqs[seq].prev != before.hash:
                report.forks.append(Fork(epoch, seq, "bad-link"))
        if 1 in seqs:
            report.epoch_starts[epoch] = seqs[1].prev
        report.heads[epoch] = (top, seqs[top].hash)
    return report
