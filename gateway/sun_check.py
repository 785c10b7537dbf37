"""Anti-clone check of NTAG 424 DNA learning cards, at the gateway.

The kiosk records the card's SUN message in the check-in (it has no keys to check it); here it
is verified with keys diversified from the county's SDM master key (``records.sun``). A MAC
that fails, a read counter seen before from the same chip (a copied NDEF replays one) or
below the highest seen, or the card's credential on another chip than the one it was first
seen on, is a cloned card: the record is flagged ``cloned-card`` and an alert tells county IT,
who can revoke the card (``learncard provision cards revoke CARD --reason cloned``). The alert
names the record, never the card or the chip's UID (the chip is kept as a keyed digest).

The counters live in the table ``sun_counters`` of the gateway's store (SQLite or PostgreSQL),
created by this module when first needed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from gateway.store import Tx
from records import sun
from records.errors import SunError
from records.record import Record

log = logging.getLogger(__name__)

CLONED = "cloned-card"
_TABLE = ("CREATE TABLE IF NOT EXISTS sun_counters (chip TEXT PRIMARY KEY, card TEXT NOT NULL, "
          "counter BIGINT NOT NULL)")


class SunCheck:
    def __init__(self, master: bytes, county: str) -> None:
        self.master = master
        self.county = county
        self._ready = False

    def flag(self, tx: Tx, kiosk: str, rec: Record) -> str:
        """``cloned-card`` (with an alert) or ``""`` for a check-in; ``""`` for anything else."""
        message = rec.data.get("sun") if rec.type == "attendance.checkin" else None
        if not message:
            return ""
        if not self._ready:
            tx.execute(_TABLE)
            self._ready = True
        try:
            tap = sun.verify(sun.Sun.parse(message["e"], message["c"]), self.master, self.county)
        except SunError as err:
            return self._cloned(tx, kiosk, rec, f"SUN message refused ({err.reason})")
        card = str(rec.data["card"])
        row = tx.one("SELECT card, counter FROM sun_counters WHERE chip = ?", (tap.chip,))
        other = tx.one("SELECT chip FROM sun_counters WHERE card = ? AND chip <> ?", (card, tap.chip))
        if row is not None and row[0] != card:
            return self._cloned(tx, kiosk, rec, "this chip carried another card's credential before")
        if other is not None:
            return self._cloned(tx, kiosk, rec, "this card's credential was first seen on another chip")
        verdict = sun.judge(None if row is None else int(row[1]), tap)
        if verdict != "ok":
            return self._cloned(tx, kiosk, rec, f"SUN counter {tap.counter} {verdict} (highest seen {row[1]})")
        if row is None:
            tx.execute("INSERT INTO sun_counters VALUES (?,?,?)", (tap.chip, card, tap.counter))
        else:
            tx.execute("UPDATE sun_counters SET counter = ? WHERE chip = ?", (tap.counter, tap.chip))
        return ""

    @staticmethod
    def _cloned(tx: Tx, kiosk: str, rec: Record, why: str) -> str:
        tx.alert(kiosk, CLONED, f"record {rec.id}: {why} — a cloned card? revoke it if so")
        return CLONED


def from_config(section: dict[str, Any]) -> SunCheck | None:
    """``[gateway].sun_master_key``: a file holding the county's SDM master key (32 hex digits);
    empty: SUN messages are not checked."""
    path = str(section.get("sun_master_key") or "")
    if not path:
        return None
    try:
        master = bytes.fromhex(Path(path).read_text().strip())
    except (OSError, ValueError) as err:
        raise SunError(f"cannot read the SDM master key {path}: {err}", reason="bad-sun") from err
    if len(master) != 16:
        raise SunError(f"the SDM master key in {path} is not 16 bytes", reason="bad-sun")
    return SunCheck(master, str(section["county"]))
