"""The county's staff roster: staff and volunteers, their staff cards, the venues they may
run, and their PINs — stored only as memory-hard salted hashes (scrypt) of the PIN and the
staff card's own secret (a claim on the card, nowhere else), so a stolen kiosk's copy of the
roster cannot be searched for PINs. Signed and versioned; the gateway publishes it on
``lc/v1/county/staff`` and kiosks check card + PIN against it."""

from __future__ import annotations

import os
from typing import Any

from provisioning.cards import CardOffice, Issued, Order
from provisioning.errors import ProvisioningError
from provisioning.home import CountyHome
from records.county import Document, hash_pin
from records.ids import is_valid_name

ROLES = ("staff", "teacher", "volunteer")  # teachers and volunteers are credited service hours
MIN_PIN = 4


class StaffError(ProvisioningError):
    pass


def check_pin_text(pin: str) -> None:
    if not pin.isdigit() or not MIN_PIN <= len(pin) <= 12:
        raise StaffError(f"a PIN is {MIN_PIN} to 12 digits")
    if len(set(pin)) == 1 or pin in "0123456789012" or pin in "9876543210":
        raise StaffError("this PIN is too easy to guess (all one digit, or a run)")


def roster(home: CountyHome) -> list[dict[str, Any]]:
    return list(home.load_document("staff").body.get("staff", []))


def add(home: CountyHome, staff_id: str, role: str, venues: list[str], pin: str,
        name: str | None = None) -> tuple[Document, Issued]:
    if not is_valid_name(staff_id):
        raise StaffError(f"staff id {staff_id!r} must match [a-z0-9-]{{3,40}}")
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}")
    if not venues:
        raise StaffError("name at least one venue (or * for every venue)")
    bad = [v for v in venues if v != "*" and not is_valid_name(v)]
    if bad:
        raise StaffError(f"not venue ids: {', '.join(bad)}")
    check_pin_text(pin)
    entries = roster(home)
    if any(e["staff_id"] == staff_id for e in entries):
        raise StaffError(f"{staff_id} is on the roster already (remove them first to re-issue)")
    (issued,) = CardOffice(home).issue([Order(None, name, (), staff=True)])
    secret = issued.credential.staff_secret
    assert secret is not None  # CardOffice gives every staff card one
    entries.append({"staff_id": staff_id, "card": issued.credential.card_id, "role": role, "venues": venues,
                    "pin_hash": hash_pin(pin, secret, os.urandom(16))})
    return home.save_document("staff", {"staff": entries}), issued


def remove(home: CountyHome, staff_id: str) -> Document:
    entries = roster(home)
    kept = [e for e in entries if e["staff_id"] != staff_id]
    if len(kept) == len(entries):
        raise StaffError(f"{staff_id} is not on the roster")
    return home.save_document("staff", {"staff": kept})


def listing(home: CountyHome) -> list[dict[str, Any]]:
    """The roster without the PIN hashes (they are secret enough not to print)."""
    return [{k: v for k, v in e.items() if k != "pin_hash"} for e in roster(home)]
