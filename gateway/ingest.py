"""One record message from a kiosk → verified, checked, stored, and the receipt to send.

Order of checks per record: the JWS parses → its ``kid`` names the topic's kiosk → the
registry has an active key for it → the signature verifies (before anything is parsed) →
the CloudEvent is well formed → the body passes its JSON Schema → the chain holds. A record
that fails is *rejected and recorded* (kept with its reason, so the chain can move past it
and the kiosk can move it out of its outbox). Nothing is acknowledged before the commit.

Rejection reasons (the receipt's ``rejected[].reason``): ``bad-signature``,
``unknown-kiosk``, ``unknown-key``, ``revoked-kiosk``, ``wrong-kiosk``, ``malformed``,
``bad-schema``, ``fork``, ``bad-epoch-link``, ``duplicate-id``.
Whole-message errors (``{"error": …}``): ``too-large``, ``malformed``, ``empty``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import fastjsonschema
import orjson

from gateway.county_files import CountyFiles
from gateway.store import Chain, Store, Tx
from gateway.sun_check import SunCheck
from records import jws
from records.chain import missing_ranges
from records.errors import MalformedRecord, RecordError
from records.record import Record, format_time, link_hash, parse_event, parse_time
from records.schemas import SCHEMAS

log = logging.getLogger(__name__)

MAX_PAYLOAD = 256 * 1024
CLOCK_TOLERANCE_S = 24 * 3600  # a record's time further than this from ours is flagged


@dataclass
class Outcome:
    """What one message did: receipts per epoch, records to republish, resends to ask."""

    kiosk: str
    receipts: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    verified: list[tuple[str, str]] = field(default_factory=list)  # (venue, token)
    resend: list[dict[str, int]] = field(default_factory=list)
    stored: int = 0
    duplicates: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    flagged: int = 0


@dataclass
class _Line:
    compact: jws.Compact
    epoch: int
    seq: int
    event: dict[str, Any]  # parsed once, to group by epoch; trusted only after the signature verifies
    record: Record | None = None
    reason: str | None = None

    @property
    def token(self) -> str:
        return self.compact.token


VALIDATORS = {name: fastjsonschema.compile(schema) for name, schema in SCHEMAS.items()}


class Ingest:
    def __init__(self, store: Store, county: CountyFiles, now: Callable[[], datetime],
                 sun_check: SunCheck | None = None) -> None:
        self.store = store
        self.county = county
        self.now = now
        self.sun_check = sun_check  # NTAG 424 DNA anti-clone check (gateway/sun_check.py)

    def handle(self, kiosk: str, payload: bytes) -> Outcome:
        out = Outcome(kiosk)
        if len(payload) > MAX_PAYLOAD:
            out.error = "too-large"
            return out
        lines = self._split(payload, out)
        if lines is None:
            return out
        for line in lines:
            self._verify(kiosk, line)
        received_ms = int(time.time() * 1000)
        with self.store.tx() as tx:
            by_epoch: dict[int, list[_Line]] = {}
            for line in sorted(lines, key=lambda x: (x.epoch, x.seq)):
                by_epoch.setdefault(line.epoch, []).append(line)
            for epoch, group in by_epoch.items():
                out.receipts.append(self._epoch(tx, kiosk, epoch, group, out, received_ms))
            if out.stored:
                tx.touch_kiosk(kiosk)
        return out

    # --- parsing and verifying (outside the transaction) --------------------------------

    @staticmethod
    def _split(payload: bytes, out: Outcome) -> list[_Line] | None:
        try:
            text = payload.decode("ascii")
        except UnicodeDecodeError:
            out.error = "malformed"
            return None
        lines = []
        for raw in text.split("\n"):
            raw = raw.strip()
            if not raw:
                continue
            try:
                compact = jws.parse(raw)
                event = orjson.loads(compact.payload)
                epoch, seq = event["epoch"], event["seq"]
                if not (isinstance(epoch, int) and isinstance(seq, int) and epoch >= 1 and seq >= 1):
                    raise ValueError("epoch/seq")
            except (RecordError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                out.error = "malformed"  # no position to settle it at: the whole message is refused
                return None
            lines.append(_Line(compact, epoch, seq, event))
        if not lines:
            out.error = "empty"
            return None
        return lines

    def _verify(self, kiosk: str, line: _Line) -> None:
        compact = line.compact
        if compact.kid.split("/", 1)[0] != kiosk:
            line.reason = "wrong-kiosk"
            return
        try:
            key = self.county.registry().key_for(compact.kid)
            jws.verify(compact, key)
            event = parse_event(compact.payload, compact.kid, parsed=line.event)
        except MalformedRecord:
            line.reason = "malformed"
            return
        except RecordError as err:
            line.reason = err.reason
            return
        record = Record(compact.token, event, compact.kid)
        try:
            VALIDATORS[record.type](record.data)
        except fastjsonschema.JsonSchemaException as err:
            log.warning("record %s of %s fails its schema: %s", record.id, kiosk, err.message)
            line.reason = "bad-schema"
            return
        line.record = record

    # --- the chain (inside the transaction) -------------------------------------------------

    def _epoch(self, tx: Tx, kiosk: str, epoch: int, group: list[_Line], out: Outcome,
               received_ms: int) -> dict[str, Any]:
        chain = tx.chain(kiosk, epoch)
        rejected: list[dict[str, Any]] = []
        taken = tx.ids_taken([line.record.id for line in group if line.record is not None])
        here: dict[int, tuple[str, str, str]] = {}  # seq → (token, hash, prev) accepted from this group
        rows: list[tuple[Any, ...]] = []  # inserted together before the chain advances
        for line in group:
            existing = None
            if line.seq <= chain.max_seen:
                existing = here.get(line.seq) or tx.stored_at(kiosk, epoch, line.seq)
            if existing is not None:
                if existing[0] == line.token:
                    out.duplicates += 1  # re-sent unchanged: stored once, settled again
                    continue
                if line.reason is None:
                    tx.alert(kiosk, "fork", f"epoch {epoch} seq {line.seq}: two different records")
                    line.reason = "fork"
            if line.reason is None:
                line.reason = self._link_problem(tx, chain, line, here)
            if line.reason is None and line.record is not None and line.record.id in taken:
                line.reason = "duplicate-id"
            if line.reason is not None:
                rejected.append({"seq": line.seq, "reason": line.reason})
                out.rejected[line.reason] = out.rejected.get(line.reason, 0) + 1
                if existing is None:
                    tx.insert_rejected(kiosk, epoch, line.seq, link_hash(line.token), line.token, line.reason)
                    chain.max_seen = max(chain.max_seen, line.seq)
                continue
            rec = line.record
            assert rec is not None
            flags = self._clock_flags(chain, rec)
            if self.sun_check is not None:
                flags = ",".join(f for f in (flags, self.sun_check.flag(tx, kiosk, rec)) if f)
            out.flagged += bool(flags)
            rows.append((kiosk, epoch, line.seq, rec.id, rec.type, rec.event["venue"], rec.event["time"],
                         rec.hash, rec.prev, rec.token, flags, received_ms))
            here[line.seq] = (rec.token, rec.hash, rec.prev)
            taken.add(rec.id)
            out.stored += 1
            out.verified.append((rec.event["venue"], rec.token))
            chain.max_seen = max(chain.max_seen, line.seq)
            if line.seq == chain.upto + 1:
                self._remember_last(chain, rec)
        tx.insert_records(rows)
        self._advance(tx, chain)
        tx.save_chain(chain)
        missing = missing_ranges(tx.present_between(kiosk, epoch, chain.upto + 1, chain.max_seen),
                                 chain.max_seen, chain.upto + 1) if chain.max_seen > chain.upto else []
        for lo, hi in missing:
            out.resend.append({"epoch": epoch, "from": lo, "to": hi})
        return {"epoch": epoch, "upto": chain.upto, "head": chain.head,
                "missing": [[lo, hi] for lo, hi in missing], "rejected": rejected,
                "time": format_time(self.now())}

    @staticmethod
    def _link_problem(tx: Tx, chain: Chain, line: _Line, here: dict[int, tuple[str, str, str]]) -> str | None:
        rec = line.record
        assert rec is not None
        if line.seq == 1:
            if chain.epoch == 1:
                return None if rec.prev == "" else "bad-epoch-link"
            # a new epoch (after a quarantine) links to a receipt's head the kiosk held
            if rec.prev == "" or tx.knows_hash(chain.kiosk, chain.epoch, rec.prev):
                return None
            return "bad-epoch-link"
        if line.seq - 1 == chain.upto:
            return None if rec.prev == chain.head else "fork"
        before = here.get(line.seq - 1) or tx.stored_at(chain.kiosk, chain.epoch, line.seq - 1)
        if before is not None and before[1] != rec.prev:
            return "fork"
        return None  # the record before is not here yet: its link is checked when the chain advances

    @staticmethod
    def _remember_last(chain: Chain, rec: Record) -> None:
        chain.last_time, chain.last_mono, chain.last_bootid = (
            rec.event["time"], rec.event["mono"], rec.event["bootid"])

    def _clock_flags(self, chain: Chain, rec: Record) -> str:
        flags = []
        moment = parse_time(rec.event["time"])
        if abs((moment - self.now()).total_seconds()) > CLOCK_TOLERANCE_S:
            flags.append("clock-far")
        if (chain.last_bootid == rec.event["bootid"] and chain.last_time
                and int(rec.event["mono"]) > int(chain.last_mono or 0)
                and moment < parse_time(chain.last_time)):
            flags.append("clock-backwards")
        return ",".join(flags)

    @staticmethod
    def _advance(tx: Tx, chain: Chain) -> None:
        if chain.max_seen <= chain.upto:
            return
        for seq, hash_, prev in tx.following(chain.kiosk, chain.epoch, chain.upto, chain.max_seen):
            if seq != chain.upto + 1:
                break
            if prev and prev != chain.head and chain.upto > 0:
                tx.alert(chain.kiosk, "fork", f"epoch {chain.epoch} seq {seq} does not link to {chain.upto}")
                break
            chain.upto, chain.head = seq, hash_
