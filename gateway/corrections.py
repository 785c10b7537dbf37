"""Corrections at the gateway: the county's signed corrections, the ledger of every correction
in the store, and the xAPI statements corrections and walk-in links make.

- **County corrections** (``learncard gateway correct``) are records like a kiosk's: signed
  with the key of a county signer the registry names for the purpose ``corrections``
  (``county-corrections``), chained per signer and epoch, and stored through the same
  :class:`gateway.ingest.Ingest` as every kiosk record — so they are verified, checked against
  their schema and chain, and relayed, reported and exported like any record.
- **The ledger** (:func:`load_ledger`): every correction in the store and what it amounts to
  (:mod:`records.corrections`), plus the check-outs that end a voided check-in (at any kiosk
  of the venue).
- **Statements**: a void becomes one xAPI voiding statement per statement the target may have
  made (:func:`statements_to_void`); an amendment also the corrected statement.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.errors import GatewayError
from gateway.ingest import Ingest
from gateway.store import Store
from gateway.xapi import RELAYED_TYPES, linked_statement_id, statement_id
from records import corrections, keys, record
from records.corrections import CORRECTIONS_PURPOSE, Ledger
from records.county import Registry
from records.ids import uuid7
from records.record import Record, parse_unverified
from records.slip import is_temporary_id


class CorrectionError(GatewayError):
    """A correction that cannot be made as asked (unknown record, not allowed, not signed)."""


def _tokens_by_id(store: Store, ids: list[str]) -> list[Record]:
    out: list[Record] = []
    for i in range(0, len(ids), 500):
        part = ids[i:i + 500]
        marks = ",".join("?" * len(part))
        out += [parse_unverified(t) for (t,) in store.query(
            f"SELECT token FROM records WHERE id IN ({marks}) ORDER BY rowid_", tuple(part))]  # noqa: S608
    return out


def find(store: Store, record_id: str) -> Record | None:
    found = _tokens_by_id(store, [record_id])
    return found[0] if found else None


def load_ledger(store: Store, purpose_of: Callable[[str], str | None]) -> Ledger:
    """Every correction in the store applied (commit order), with the check-outs of voided
    check-ins voided too."""
    found = [parse_unverified(t) for (t,) in store.query(  # a correction held for review has no effect yet
        "SELECT token FROM records WHERE type = 'correction' AND id NOT IN "
        "(SELECT record_id FROM held WHERE state <> 'accepted') ORDER BY rowid_")]
    if not found:
        return Ledger()
    targets = _tokens_by_id(store, sorted({c.data["target"] for c in found}))
    book = corrections.ledger(targets + found, purpose_of)
    venues = {t.event["venue"] for i, t in book.targets.items()
              if t.type == "attendance.checkin" and i in book.voided}
    for venue in sorted(venues):
        for (token,) in store.query("SELECT token FROM records WHERE type = 'attendance.checkout' AND venue = ?",
                                    (venue,)):
            checkout = parse_unverified(token)
            if checkout.data["checkin_id"] in book.voided:
                book.voided.setdefault(checkout.id, book.voided[checkout.data["checkin_id"]])
                book.targets.setdefault(checkout.id, checkout)
    return book


def statement_sources(target: Record, book: Ledger, before: Record | None = None) -> list[str]:
    """The record ids whose statements stand for ``target`` at the LRS: its own and its
    amendments' (those made before ``before``, when given)."""
    if target.type not in RELAYED_TYPES:
        return []
    sources = [target.id]
    for amendment in book.amendments.get(target.id, []):
        if before is not None and amendment.id == before.id:
            break
        sources.append(amendment.id)
    return sources


def statements_to_void(target: Record, book: Ledger, before: Record | None = None) -> list[str]:
    """The statement ids ``target`` may have made at the LRS: its own, its amendments', and
    for a walk-in's temporary id the ones re-sent under the learner's code. Voiding an id the
    LRS never got is harmless (xAPI: the LRS must not refuse a void of an unknown statement)."""
    sources = statement_sources(target, book, before)
    ids = [statement_id(s) for s in sources]
    if is_temporary_id(str(target.data.get("learner", ""))):
        ids += [linked_statement_id(s) for s in sources]
    return ids


def linked(rec: Record, links: dict[str, str]) -> Record:
    """``rec`` as if made for the learner code its walk-in id was linked to."""
    learner = rec.data.get("learner")
    if learner not in links:
        return rec
    return Record(rec.token, {**rec.event, "data": {**rec.data, "learner": links[learner], "temporary": False}},
                  rec.kid)


def corrected(store: Store, purpose_of: Callable[[str], str | None]) -> tuple[list[Record], list[Record]]:
    """Every stored record in commit order with corrections applied and walk-ins' temporary ids
    linked to their learner codes; and the voided records left out (linked too)."""
    book = load_ledger(store, purpose_of)
    records, cursor = [], 0
    while rows := store.records_after(cursor, 5000):
        records += [parse_unverified(token) for _, token in rows]
        cursor = rows[-1][0]
    kept, _ = corrections.effective(records, book)
    links = dict(store.query("SELECT temp, code FROM learner_links"))
    voided = [linked(rec, links) for rec in records if rec.id in book.voided]
    return [linked(rec, links) for rec in kept], voided


# --- the county's signed corrections ----------------------------------------------------------------


@dataclass(frozen=True)
class CountySigner:
    """A county signer's private key and the registry's name for it."""

    signer: str
    key: Ed25519PrivateKey
    key_version: int

    @classmethod
    def load(cls, key_pem: bytes, registry: Registry, purpose: str = CORRECTIONS_PURPOSE) -> CountySigner:
        """The key, matched against the registry's signers with that purpose."""
        try:
            key = keys.private_key_from_pem(key_pem)
        except Exception as err:  # noqa: BLE001 - any unreadable key is the same answer
            raise CorrectionError(f"县级签名密钥无法读取 / the county signer key cannot be read: {err}") from err
        public = keys.public_key_text(key)
        for signer, entry in registry.signers.items():
            if entry.get("purpose") != purpose or entry.get("status") != "active":
                continue
            for version, text in entry.get("keys", {}).items():
                if text == public:
                    return cls(signer, key, int(version))
        raise CorrectionError(f"注册表中没有此密钥 / the registry names no active {purpose!r} signer with this key: "
                              "run `learncard provision signer` and reload the gateway's registry")


def _position(store: Store, signer: str) -> tuple[int, int, str]:
    """(epoch, seq, prev) for the signer's next record: after the last one the store holds."""
    rows = store.query("SELECT epoch, max_seen FROM chains WHERE kiosk = ? ORDER BY epoch DESC LIMIT 1", (signer,))
    if not rows:
        return 1 + int.from_bytes(os.urandom(4), "big") % (2**31 - 2), 1, ""
    epoch, top = int(rows[0][0]), int(rows[0][1])
    with store.tx() as tx:
        last = tx.stored_between(signer, epoch, top, top).get(top)  # (token, hash, prev)
    return epoch, top + 1, "" if last is None else last[1]


def correct(store: Store, ingest: Ingest, signer: CountySigner, target_id: str, *, action: str, reason: str,
            note: str | None, amended: dict[str, Any] | None, now: datetime, bootid: str, clock: str) -> Record:
    """Sign a county correction of ``target_id`` and store it through ``ingest``."""
    try:
        target_id = str(uuid.UUID(target_id))
    except ValueError as err:
        raise CorrectionError(f"记录编号格式不对 / {target_id!r} is not a record id (a UUID)") from err
    target = find(store, target_id)
    if target is None:
        raise CorrectionError(f"找不到该记录 / no record {target_id} in the store")
    if reason not in corrections.REASONS:
        raise CorrectionError(f"更正原因不对 / reason {reason!r}: one of {', '.join(corrections.REASONS)}")
    data: dict[str, Any] = {"target": target.id, "target_kiosk": target.kiosk, "action": action, "reason": reason}
    if note:
        data["note"] = note
    if amended:
        data["amended"] = amended
    purpose = {signer.signer: CORRECTIONS_PURPOSE}.get
    epoch, seq, prev = _position(store, signer.signer)
    origin = record.Origin(signer.signer, target.event["venue"], signer.key_version, bootid)
    event = record.build(origin=origin, record_type="correction", data=data,
                         record_id=uuid7(int(now.timestamp() * 1000), os.urandom(10)), time=now,
                         mono_ns=time.monotonic_ns(), clock=clock, epoch=epoch, seq=seq, prev=prev)
    rec = record.sign(event, signer.key, origin.kid)
    book = load_ledger(store, purpose)
    why = corrections.refusal(rec, target, purpose) or ("already-void" if target.id in book.voided else None)
    if why is not None:
        raise CorrectionError(f"不能这样更正 / this correction is not allowed: {why}")
    out = ingest.handle(signer.signer, rec.token.encode("ascii"))
    if out.error or out.stored != 1:
        problems = out.error or ", ".join(f"{k} ×{n}" for k, n in out.rejected.items()) or "not stored"
        raise CorrectionError(f"更正未能保存 / the correction was not stored: {problems} (run the command again)")
    return rec
