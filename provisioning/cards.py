"""Learning cards: learner codes, credentials, the county's card index, revocation.

Files in the county home:
    learner-counter            the next learner number (codes are never reused)
    cards/index.jsonl          one line per card: card id, learner code, issued, staff, status
    cards/<card id>.cose       each credential as issued (the bytes on NFC and in the QR code)
    revoked-cards.jws          the signed revocation list the gateway publishes

No full name is ever stored or printed: a name given at issue time is masked (王*明) before
anything else sees it.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from provisioning.errors import ProvisioningError
from provisioning.files import write_atomic
from provisioning.home import CountyHome
from records import card
from records.county import CARD_SECRET_BYTES, Document, revoked_cards
from records.errors import InvalidLearnerCode
from records.ids import format_learner_code, learner_code, parse_learner_code

MAX_NAME = 20


class CardError(ProvisioningError):
    """A card cannot be issued or found; the message names the row or card."""


@dataclass(frozen=True)
class Order:
    """One card to issue: an existing learner code (or None: a new one), name, groups."""

    learner: int | None
    name: str | None
    groups: tuple[str, ...]
    staff: bool = False


@dataclass(frozen=True)
class Issued:
    credential: card.Credential
    data: bytes

    @property
    def qr_text(self) -> str:
        return card.to_qr_text(self.data)


def parse_order(learner: str | None, name: str | None, groups: str | Iterable[str] | None,
                where: str = "") -> Order:
    prefix = f"{where}: " if where else ""
    try:
        code = parse_learner_code(learner) if learner and learner.strip() else None
    except InvalidLearnerCode as err:
        raise CardError(f"{prefix}{err}") from err
    if isinstance(groups, str):
        groups = [g.strip() for g in groups.replace(";", ",").split(",") if g.strip()]
    group_list = tuple(groups or ())
    unknown = set(group_list) - set(card.GROUPS)
    if unknown:
        raise CardError(f"{prefix}unknown learner group(s) {', '.join(sorted(unknown))}; "
                        f"known: {', '.join(card.GROUPS)}")
    name = (name or "").strip() or None
    if name is not None and len(name) > MAX_NAME:
        raise CardError(f"{prefix}the name is longer than {MAX_NAME} characters")
    return Order(code, card.mask_name(name) if name else None, group_list)


def read_csv(text: str) -> list[Order]:
    """Every row checked before anything is issued; an error names the line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    allowed = {"learner_code", "name", "groups"}
    if reader.fieldnames is None or not set(reader.fieldnames) <= allowed:
        raise CardError(f"the CSV's columns must be among {', '.join(sorted(allowed))} "
                        f"(got {', '.join(reader.fieldnames or [])})")
    orders = [parse_order(row.get("learner_code"), row.get("name"), row.get("groups"), f"line {i}")
              for i, row in enumerate(reader, start=2)]
    if not orders:
        raise CardError("the CSV holds no rows")
    return orders


class CardOffice:
    """Issuing and revoking cards in one county home (one process at a time: a file lock)."""

    def __init__(self, home: CountyHome) -> None:
        self.home = home
        self.folder = home.path_of("cards")

    def _lock(self) -> Any:
        self.folder.mkdir(exist_ok=True)
        handle = open(self.folder / ".lock", "w")  # noqa: SIM115 - held for the caller's block
        fcntl.flock(handle, fcntl.LOCK_EX)
        return handle

    def _next_learners(self, n: int) -> list[int]:
        counter = self.home.path_of("learner-counter")
        start = int(counter.read_text()) if counter.exists() else 1
        write_atomic(counter, f"{start + n}\n")
        return [int(learner_code(start + i)) for i in range(n)]

    def issue(self, orders: list[Order], progress: Callable[[int], None] | None = None) -> list[Issued]:
        key = self.home.issuer_key()
        lock = self._lock()
        try:
            new = iter(self._next_learners(sum(1 for o in orders if o.learner is None)))
            issued = []
            lines = []
            for order in orders:
                learner = order.learner if order.learner is not None else next(new)
                cred = card.Credential(self.home.county_id, int(time.time()), learner, os.urandom(card.CARD_ID_BYTES),
                                       card.groups_mask(order.groups), order.staff, order.name,
                                       staff_secret=os.urandom(CARD_SECRET_BYTES) if order.staff else None)
                data = card.issue(cred, key)
                write_atomic(self.folder / f"{cred.card_id}.cose", data, mode=0o600)
                issued.append(Issued(cred, data))
                lines.append(json.dumps({"card": cred.card_id, "learner": cred.learner_code, "issued": cred.issued_at,
                                         "staff": order.staff, "groups": list(order.groups), "name": order.name,
                                         "status": "active"}, ensure_ascii=False))
                if progress:
                    progress(1)
            with open(self.folder / "index.jsonl", "a", encoding="utf-8") as handle:
                handle.write("".join(line + "\n" for line in lines))
                handle.flush()
                os.fsync(handle.fileno())
            return issued
        finally:
            lock.close()

    def index(self) -> list[dict[str, Any]]:
        path = self.folder / "index.jsonl"
        if not path.exists():
            return []
        cards = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        revoked = revoked_cards(self.home.load_document("revoked-cards"))
        for entry in cards:
            entry["status"] = "revoked" if entry["card"] in revoked else "active"
        return cards

    def find(self, key: str) -> list[dict[str, Any]]:
        """Cards by card id, or by learner code (all cards a learner ever had)."""
        digits = key.replace(" ", "").replace("-", "")
        found = [c for c in self.index() if c["card"] == key or c["learner"] == digits]
        if not found:
            raise CardError(f"no card {key!r} in this county's index")
        return found

    def credential(self, card_id: str) -> bytes:
        try:
            return (self.folder / f"{card_id}.cose").read_bytes()
        except FileNotFoundError as err:
            raise CardError(f"no credential file for card {card_id}") from err

    def revoke(self, card_id: str, reason: str) -> Document:
        entry = self.find(card_id)[0]
        if entry["card"] != card_id:
            raise CardError("revoke one card by its card id (a learner may have several)")
        doc = self.home.load_document("revoked-cards")
        cards = list(doc.body.get("cards", []))
        if any(c["card"] == card_id for c in cards):
            raise CardError(f"card {card_id} is revoked already")
        cards.append({"card": card_id, "reason": reason, "revoked_at": datetime.now(UTC).isoformat(timespec="seconds")})
        return self.home.save_document("revoked-cards", {"cards": cards})


def learner_text(learner: int) -> str:
    """The learner code grouped for reading aloud and typing: 3301 0000 0007 1."""
    code = format_learner_code(learner)
    return f"{code[:4]} {code[4:8]} {code[8:12]} {code[12:]}"
