"""Personal data at the gateway (个人信息保护法, PIPL): consent records, retention and purge,
and a resident's requests to see (export) or delete (erase) what is held about them.

- **Consent**: a county-signed ``consent`` document per learner (what is collected, for
  what, how long; for a minor, the guardian's consent — refused without it), kept in the
  store's ``consents`` table; and the kiosk-signed ``consent`` records a kiosk makes when a
  resident registers or a walk-in is enrolled (records/consent.py), stored like every record.
- **Erase**: the learner's statements are voided at the LRS (a voiding statement per
  statement, with an id derived from it, so a re-run adds nothing), a county-signed
  ``erasure`` document is stored, and from then on the relay, the reports and the exports
  leave the learner out. The signed records stay in the store exactly as signed, so every
  kiosk's chain still verifies; they carry only the pseudonymous learner code, and the only
  link from code to person — the county's card roster — forgets it (docs/privacy.md).
- **Retention**: per record type, in days, set by the county. ``purge`` deletes expired
  records and keeps a tombstone per record (kiosk, epoch, seq, hash, prev): the chain of
  hashes stays checkable across the gap.

Documents here are signed with the county issuer key (a JWS like the registry's, kinds
``consent`` and ``erasure``) and verify with ``records.county.verify_document``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.errors import GatewayError
from gateway.lrs import LrsClient
from gateway.store import Store
from gateway.xapi import (  # one voiding statement for corrections and erasures
    RELAYED_TYPES,
    statement_id,
    voiding_statement,
)
from records import consent, jws
from records.county import county_kid
from records.record import Record, format_time, parse_time, parse_unverified

COLLECTED = list(consent.DEFAULT_COLLECTED)  # the kiosk's [privacy] defaults name the same
PURPOSES = list(consent.DEFAULT_PURPOSES)
LEARNER_TYPES = ("attendance.checkin", "attendance.checkout", "attendance.manual", "enrollment", "rating",
                 "tap.rejected", "consent")


class PrivacyError(GatewayError):
    """A consent, erasure or retention request that cannot be carried out as asked."""


def _sign(kind: str, county: str, body: dict[str, Any], key: Ed25519PrivateKey, now: datetime) -> str:
    payload = {"kind": kind, "county": county, "version": 1, "issued": format_time(now), "body": body}
    return jws.sign(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS), key, {"kid": county_kid(county)})


def _learner_of(rec: Record) -> str | None:
    learner = rec.data.get("learner") if isinstance(rec.data, dict) else None
    return str(learner) if learner else None


def erased(store: Store) -> set[str]:
    return {r[0] for r in store.query("SELECT learner FROM erasures")}


def keeper(store: Store) -> Callable[[Record], bool]:
    """A filter for reports and exports: False for records of erased learners (or of a
    temporary id linked to one)."""
    gone = erased(store)
    links = dict(store.query("SELECT temp, code FROM learner_links"))
    gone |= {temp for temp, code in links.items() if code in gone}

    def keep(rec: Record) -> bool:
        return _learner_of(rec) not in gone

    return keep


# --- consent ------------------------------------------------------------------------------------


def record_consent(store: Store, county: str, key: Ed25519PrivateKey, learner: str, *, notice: str,
                   retention_days: dict[str, int], minor: bool, guardian_consent: bool, how: str,
                   now: datetime, guardian_age: int = consent.DEFAULT_GUARDIAN_AGE) -> str:
    """Store a county-signed consent for ``learner``; a minor (under ``guardian_age``, the county's
    ``privacy.guardian_age`` — the age the kiosks ask with) needs a guardian's consent."""
    if guardian_age not in consent.GUARDIAN_AGES:
        raise PrivacyError(f"监护人同意年龄须在 1 到 18 之间 / privacy.guardian_age {guardian_age}: expected 1..18 "
                           "(14 by the PIPL)")
    if minor and not guardian_consent:
        raise PrivacyError(f"未满 {guardian_age} 周岁须监护人同意 / under {guardian_age}, a guardian's consent is "
                           "needed (--guardian-consent): nothing was recorded")
    body = {"learner": learner, "notice": notice, "collected": COLLECTED, "purposes": PURPOSES,
            "retention_days": retention_days, "minor": minor, "guardian_consent": guardian_consent,
            "guardian_age": guardian_age, "how": how}
    token = _sign("consent", county, body, key, now)
    with store.tx() as tx:
        tx.execute("INSERT INTO consents VALUES (?,?,?)", (learner, token, int(now.timestamp() * 1000)))
    return token


# --- export -------------------------------------------------------------------------------------


def export_learner(store: Store, learner: str) -> dict[str, Any]:
    """Everything the gateway holds about one learner: records (decoded, and as signed),
    consents, temporary ids linked to the code, dead letters, an erasure if any."""
    temps = {t for (t,) in store.query("SELECT temp FROM learner_links WHERE code = ?", (learner,))}
    codes = {learner} | temps
    records = []
    for token, flags in store.query("SELECT token, flags FROM records ORDER BY rowid_"):
        rec = parse_unverified(token)
        if _learner_of(rec) in codes:
            records.append({"id": rec.id, "type": rec.type, "time": rec.event["time"], "venue": rec.event["venue"],
                            "kiosk": rec.kiosk, "data": rec.data, "flags": flags, "record": token,
                            "statement_id": statement_id(rec.id) if rec.type in RELAYED_TYPES else None})
    ids = {r["id"] for r in records}
    dead = [{"record_id": r, "endpoint": e, "status": s} for e, r, s in
            store.query("SELECT endpoint, record_id, status FROM deadletters") if r in ids]
    return {"learner": learner, "temporary_ids": sorted(temps), "records": records,
            "consents": [t for (t,) in store.query("SELECT token FROM consents WHERE learner = ?", (learner,))],
            # the kiosk-signed consent records (also among "records"): what was shown, agreed, withdrawn
            "kiosk_consents": [{"id": r["id"], "time": r["time"], "venue": r["venue"], "kiosk": r["kiosk"],
                                **r["data"]} for r in records if r["type"] == "consent"],
            "erasure": next((t for (t,) in store.query("SELECT token FROM erasures WHERE learner = ?", (learner,))),
                            None),
            "deadletters": dead,
            "purged": sum(1 for (who,) in store.query("SELECT learner FROM purged") if who in codes)}


# --- erase ----------------------------------------------------------------------------------------


def erase(store: Store, county: str, key: Ed25519PrivateKey, learner: str, client: LrsClient | None,
          home_page: str, reason: str, now: datetime) -> dict[str, Any]:
    """Void the learner's statements at the LRS, then record the county-signed erasure (only
    after the LRS accepted the voiding: a failure leaves nothing half done to forget)."""
    held = export_learner(store, learner)
    targets = sorted(r["statement_id"] for r in held["records"] if r["statement_id"])
    voided = 0
    if client is not None and targets:
        for i in range(0, len(targets), 100):
            voids = [voiding_statement(t, home_page) for t in targets[i:i + 100]]
            answer = client.post(voids)  # LrsUnavailable propagates: nothing recorded yet
            if not answer.ok:
                for one in voids:  # a target the LRS never got cannot be voided: say which
                    single = client.post([one])
                    if single.ok:
                        voided += 1
                    elif single.status not in (400, 404):
                        raise PrivacyError(f"the LRS refused to void {one['object']['id']}: "
                                           f"{single.status} {single.text[:200]}")
                continue
            voided += len(voids)
    body = {"learner": learner, "reason": reason, "records": len(held["records"]), "statements_voided": targets,
            "temporary_ids": held["temporary_ids"], "lrs": client.endpoint if client else None}
    token = _sign("erasure", county, body, key, now)
    with store.tx() as tx:
        tx.execute("INSERT INTO erasures VALUES (?,?,?) ON CONFLICT (learner) DO UPDATE SET token = excluded.token, "
                   "erased_ms = excluded.erased_ms", (learner, token, int(now.timestamp() * 1000)))
        tx.execute("DELETE FROM consents WHERE learner = ?", (learner,))
        for temp in held["temporary_ids"]:
            tx.execute("DELETE FROM learner_links WHERE temp = ?", (temp,))
    return {"learner": learner, "records": len(held["records"]), "statements": len(targets), "voided": voided,
            "erasure": token}


# --- retention -------------------------------------------------------------------------------------


def parse_retention(text: str) -> dict[str, int]:
    """``attendance.checkin=1095,rating=730`` → {type: days}; empty: keep everything."""
    try:
        return consent.parse_retention(text)
    except ValueError as err:
        raise PrivacyError(str(err)) from err


def purge(store: Store, retention: dict[str, int], now: datetime, dry_run: bool = False) -> dict[str, int]:
    """Delete records older than their type's retention; keep a tombstone of each (its chain
    position, hash and prev) so the chain stays checkable across the gap. Returns counts."""
    counts: dict[str, int] = {}
    for record_type, days in sorted(retention.items()):
        limit = now - timedelta(days=days)
        doomed = []
        for rowid, token in store.query("SELECT rowid_, token FROM records WHERE type = ?", (record_type,)):
            rec = parse_unverified(token)
            if parse_time(rec.event["time"]) < limit:
                doomed.append((rowid, rec))
        counts[record_type] = len(doomed)
        if dry_run or not doomed:
            continue
        with store.tx() as tx:
            for rowid, rec in doomed:
                tx.execute("INSERT INTO purged VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING",
                           (rec.id, rec.kiosk, rec.epoch, rec.seq, rec.type, rec.hash, rec.prev, _learner_of(rec) or "",
                            int(time.time() * 1000)))
                tx.execute("DELETE FROM records WHERE rowid_ = ?", (rowid,))
                tx.execute("DELETE FROM deadletters WHERE record_id = ?", (rec.id,))
    return counts


def tombstones(store: Store, kiosk: str) -> list[dict[str, Any]]:
    return [{"id": i, "epoch": e, "seq": s, "type": t, "hash": h, "prev": p} for i, e, s, t, h, p in store.query(
        "SELECT id, epoch, seq, type, hash, prev FROM purged WHERE kiosk = ? ORDER BY epoch, seq", (kiosk,))]
