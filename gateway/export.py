"""Exporting stored records for county systems: JSON lines, the exact signed record plus
its decoded fields, filtered by the time of the fact (and ``keep``: erased learners are left out)."""

from __future__ import annotations

import json
from collections.abc import Callable, Container, Iterator
from datetime import datetime

from gateway.store import Store
from records.record import Record, parse_time, parse_unverified


def export_lines(store: Store, since: datetime | None, until: datetime | None,
                 page: int = 1000, keep: Callable[[Record], bool] = lambda rec: True,
                 voided: Container[str] = (), left_out: list[str] | None = None) -> Iterator[str]:
    """One JSON line per record ``keep`` keeps; records in ``voided`` (by a correction) are left
    out and their ids appended to ``left_out``. Corrections themselves are exported: they are
    signed records."""
    cursor = 0
    while True:
        rows = store.records_after(cursor, page)
        if not rows:
            return
        for rowid, token in rows:
            cursor = rowid
            rec = parse_unverified(token)
            moment = parse_time(rec.event["time"])
            if (since and moment < since) or (until and moment >= until) or not keep(rec):
                continue
            if rec.id in voided:
                if left_out is not None:
                    left_out.append(rec.id)
                continue
            yield json.dumps({"record": token, "id": rec.id, "kiosk": rec.kiosk, "venue": rec.event["venue"],
                              "type": rec.type, "epoch": rec.epoch, "seq": rec.seq, "time": rec.event["time"],
                              "data": rec.data}, ensure_ascii=False)
