"""The county's signed documents as the kiosk keeps them: the card revocation list, the
staff roster, the programme (课程表), the credit rules (学时规则) and the kiosk registry (its
kiosks' public keys verify walk-in slips made at any kiosk of the county, offline). Kept as
files in the state folder, replaced only by a verified, strictly newer version; anything else
is ignored with a warning."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from records import county
from records.errors import RecordError
from records.rules import RuleBook

log = logging.getLogger(__name__)

FILES = {"revoked-cards": "revoked-cards.jws", "staff": "staff.jws", "programme": "programme.jws",
         "credit-rules": "credit-rules.jws", "registry": "registry.jws"}


class CountyDocuments:
    def __init__(self, state_dir: Path, county_id: str, issuer: Ed25519PublicKey) -> None:
        self.state_dir = state_dir
        self.county_id = county_id
        self.issuer = issuer
        self._docs: dict[str, county.Document] = {}
        self._lock = threading.Lock()
        for kind, name in FILES.items():
            path = state_dir / name
            if path.exists():
                self.update(kind, path.read_text().strip(), persist=False)

    def update(self, kind: str, token: str, *, persist: bool = True) -> bool:
        """Take a document if it verifies and is newer; True when it replaced the old one."""
        if kind not in FILES:
            log.warning("ignored a county document of unknown kind %r", kind)
            return False
        try:
            doc = county.verify_document(token, self.issuer, kind, self.county_id)
        except RecordError as err:
            log.warning("ignored a %s that does not verify: %s", kind, err)
            return False
        with self._lock:
            current = self._docs.get(kind)
            if not county.newer(current, doc):
                if current is not None and doc.version < current.version:
                    log.warning("ignored an older %s (version %d < %d)", kind, doc.version, current.version)
                return False
            if persist:
                path = self.state_dir / FILES[kind]
                tmp = path.with_suffix(".tmp")
                tmp.write_text(token)
                with open(tmp, "rb") as handle:
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            self._docs[kind] = doc
        log.info("%s version %d in force", kind, doc.version)
        return True

    def version(self, kind: str) -> int:
        doc = self._docs.get(kind)
        return 0 if doc is None else doc.version

    def revoked_cards(self) -> frozenset[str]:
        doc = self._docs.get("revoked-cards")
        return frozenset() if doc is None else county.revoked_cards(doc)

    def staff_entry(self, card_id: str) -> dict[str, Any] | None:
        doc = self._docs.get("staff")
        return None if doc is None else county.staff_by_card(doc).get(card_id)

    def staff_by_id(self, staff_id: str) -> dict[str, Any] | None:
        doc = self._docs.get("staff")
        if doc is None:
            return None
        for entry in doc.body.get("staff", []):
            if entry.get("staff_id") == staff_id:
                return dict(entry)
        return None

    def programme(self) -> dict[str, Any] | None:
        """The programme's body, or None before the first one arrives."""
        doc = self._docs.get("programme")
        return None if doc is None else doc.body

    def rule_book(self) -> RuleBook | None:
        """The county's credit rules, or None before they arrive (the kiosk's [rules] then)."""
        doc = self._docs.get("credit-rules")
        if doc is None:
            return None
        try:
            return RuleBook.from_body(doc.body)
        except ValueError as err:  # signed by the county, so a fault is the county's to fix
            log.error("the county's credit rules version %d cannot be used: %s", doc.version, err)
            return None

    def registry(self) -> county.Registry | None:
        """The kiosk registry, or None before the first one arrives."""
        doc = self._docs.get("registry")
        return None if doc is None else county.Registry(doc)

    @property
    def has_roster(self) -> bool:
        return "staff" in self._docs
