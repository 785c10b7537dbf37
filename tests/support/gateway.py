"""Record factories for gateway tests: a kiosk's chain of signed records."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from records import record
from records.ids import uuid7
from tests.support.county import TestCounty

NOW = datetime(2026, 11, 23, 1, 2, 3, tzinfo=UTC)


@dataclass
class KioskChain:
    """Makes the records a kiosk would, chained, with its key from the TestCounty."""

    county: TestCounty
    kiosk: str = "k-test-1"
    venue: str = "v-test"
    epoch: int = 1
    seq: int = 0
    head: str = ""
    bootid: str = "boot-1"
    mono: int = 10**9
    time: datetime = NOW
    made: list[record.Record] = field(default_factory=list)

    def next(self, record_type: str = "kiosk.checkpoint", data: dict | None = None, *,
             key_version: int = 1, step_s: int = 1) -> record.Record:
        self.seq += 1
        self.mono += step_s * 10**9
        self.time += timedelta(seconds=step_s)
        event = record.build(
            origin=record.Origin(self.kiosk, self.venue, key_version, self.bootid), record_type=record_type,
            data=data if data is not None else {"pending": 0, "journal_bytes": 0},
            record_id=uuid7(int(self.time.timestamp() * 1000), os.urandom(10)), time=self.time,
            mono_ns=self.mono, clock="gateway", epoch=self.epoch, seq=self.seq, prev=self.head)
        rec = record.sign(event, self.county.kiosk_key(self.kiosk), f"{self.kiosk}/{key_version}")
        self.head = rec.hash
        self.made.append(rec)
        return rec

    def many(self, n: int) -> list[record.Record]:
        return [self.next() for _ in range(n)]

    def new_epoch(self, link_to: str) -> None:
        self.epoch += 1
        self.seq = 0
        self.head = link_to


def payload(recs: list[record.Record]) -> bytes:
    return "\n".join(r.token for r in recs).encode("ascii")


def other_record(county: TestCounty, kiosk: str = "k-test-1") -> record.Record:
    event = record.build(origin=record.Origin(kiosk, "v-test", 1, "b"), record_type="kiosk.checkpoint",
                         data={"pending": 1, "journal_bytes": 0}, record_id=uuid.uuid4(), time=NOW,
                         mono_ns=1, clock="unset", epoch=1, seq=1, prev="")
    return record.sign(event, county.kiosk_key(kiosk), f"{kiosk}/1")
