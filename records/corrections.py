"""Corrections: a signed record that voids or amends an earlier record — and who may make one.

A correction never deletes or rewrites anything: the original record stays exactly as signed,
and a ``correction`` record (body in docs/records.md) points at it by record id. Whoever reads
the records (the relay, reports, exports, a learner's statement) applies the corrections with
:func:`ledger` and :func:`effective`. Pure: the caller passes the records in commit order and
the registry's purpose of a county signer.

Who may correct what (docs/corrections.md):

- the **county's corrections signer** (the registry's ``signers`` entry with purpose
  ``corrections``, e.g. ``county-corrections``): void or amend any record of a learner-facing
  type (:data:`CORRECTABLE`), of any venue and any day;
- a **kiosk** (staff with card + PIN): only ``void``, only an attendance record
  (:data:`KIOSK_VOIDABLE`) made by a kiosk of its own venue on the same local day, naming the
  staff member (``staff_id``).

A correction that breaks these rules stays stored (it is signed) but has no effect; the
ledger lists it with its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from records.record import Record, parse_time

CORRECTABLE = ("attendance.checkin", "attendance.checkout", "attendance.manual", "enrollment", "rating")
KIOSK_VOIDABLE = ("attendance.checkin", "attendance.checkout", "attendance.manual")
AMENDABLE: dict[str, frozenset[str]] = {
    "attendance.checkout": frozenset({"learner", "minutes_credited", "session_id", "checkin_id", "checkin_time",
                                      "checkin_kiosk", "seconds_present"}),
    "attendance.manual": frozenset({"learner", "minutes_credited", "session_id"}),
    "enrollment": frozenset({"learner", "session_id"}),
    "rating": frozenset({"learner"}),
}
CORRECTIONS_PURPOSE = "corrections"

# the reason list staff choose from (the schema's enum), zh_CN first
REASONS: dict[str, tuple[str, str]] = {
    "wrong-learner": ("记错了人", "recorded for the wrong person"),
    "duplicate": ("重复记录", "recorded twice"),
    "not-attended": ("实际未参加", "did not actually attend"),
    "wrong-session": ("记错了课程", "recorded in the wrong session"),
    "wrong-minutes": ("学时有误", "wrong minutes credited"),
    "test": ("测试记录", "a test record"),
    "other": ("其他", "other"),
    "paired": ("跨签到机配对", "paired with its check-in at another kiosk of the venue"),
}


@dataclass
class Ledger:
    """What the corrections among some records amount to."""

    voided: dict[str, str] = field(default_factory=dict)  # record id → id of the voiding correction
    amended: dict[str, Record] = field(default_factory=dict)  # record id → its latest amendment
    amendments: dict[str, list[Record]] = field(default_factory=dict)  # record id → every amendment, in order
    refused: dict[str, str] = field(default_factory=dict)  # correction id → why it has no effect
    targets: dict[str, Record] = field(default_factory=dict)  # record id → the record corrected

    def counts(self) -> dict[str, int]:
        return {"voided": len(self.voided), "amended": len(self.amended), "refused": len(self.refused)}


def _same_day(a: str, b: str) -> bool:
    first = parse_time(a)
    return first.date() == parse_time(b).astimezone(first.tzinfo).date()


def refusal(correction: Record, target: Record | None, purpose_of: Callable[[str], str | None]) -> str | None:
    """Why ``correction`` may not change ``target`` (None: it may)."""
    data = correction.data
    if target is None:
        return "target-unknown"
    if target.kiosk != data["target_kiosk"]:
        return "target-kiosk-mismatch"
    if target.type not in CORRECTABLE:
        return "not-correctable"
    if data["action"] == "amend":
        allowed = AMENDABLE.get(target.type, frozenset())
        if not data.get("amended") or not set(data["amended"]) <= allowed:
            return "bad-amendment"
    if purpose_of(correction.kiosk) == CORRECTIONS_PURPOSE:
        return None
    if data["action"] != "void":
        return "kiosk-may-only-void"
    if target.type not in KIOSK_VOIDABLE:
        return "not-correctable"
    if "staff_id" not in data:
        return "no-staff"
    if target.event["venue"] != correction.event["venue"]:  # both signed; the gateway checks kiosks' venues
        return "other-venue"
    if not _same_day(target.event["time"], correction.event["time"]):
        return "not-today"
    return None


def ledger(records: Iterable[Record], purpose_of: Callable[[str], str | None]) -> Ledger:
    """Apply every correction among ``records`` (in commit order). A void of a check-in also
    voids the check-out that ends it; a voided record stays voided (a later amendment of it is
    refused)."""
    by_id: dict[str, Record] = {}
    out = Ledger()
    pending: list[Record] = []
    for rec in records:
        by_id[rec.id] = rec
        if rec.type == "correction":
            pending.append(rec)
    for corr in pending:
        target = by_id.get(corr.data["target"])
        why = refusal(corr, target, purpose_of)
        if why is None and corr.data["target"] in out.voided:
            why = "already-void"
        if why is not None:
            out.refused[corr.id] = why
            continue
        assert target is not None
        out.targets[target.id] = target
        if corr.data["action"] == "void":
            out.voided[target.id] = corr.id
            out.amended.pop(target.id, None)
        else:
            out.amended[target.id] = corr
            out.amendments.setdefault(target.id, []).append(corr)
    if out.voided:
        for rec in by_id.values():
            if rec.type == "attendance.checkout" and rec.data["checkin_id"] in out.voided:
                out.voided.setdefault(rec.id, out.voided[rec.data["checkin_id"]])
    return out


def amended_record(rec: Record, amendment: Record) -> Record:
    """``rec`` as its amendment says it should read (same token: the signed original)."""
    data: dict[str, Any] = {**rec.data, **amendment.data["amended"]}
    return Record(rec.token, {**rec.event, "data": data}, rec.kid)


def effective(records: Iterable[Record], book: Ledger) -> tuple[list[Record], int]:
    """The records as corrected: voided ones and corrections left out, amended ones as
    amended. Returns them and how many voided records were left out."""
    kept, left_out = [], 0
    for rec in records:
        if rec.type == "correction":
            continue
        if rec.id in book.voided:
            left_out += 1
            continue
        amendment = book.amended.get(rec.id)
        kept.append(amended_record(rec, amendment) if amendment is not None else rec)
    return kept, left_out
