"""A small county for tests: an issuer key, a kiosk key, cards, and signed documents."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from records import card, county, ids, keys

NOW = datetime(2026, 11, 23, 1, 2, 3, tzinfo=UTC)


@dataclass
class TestCounty:  # noqa: D101 (not a test class)
    __test__ = False
    county_id: str = "county-test"
    home_page: str = "https://learn.county-test.example"
    issuer: Ed25519PrivateKey = field(default_factory=lambda: keys.private_key_from_seed(os.urandom(32)))
    kiosk_keys: dict[str, Ed25519PrivateKey] = field(default_factory=dict)
    _next_learner: int = 100_000_000_000

    @property
    def issuer_public(self) -> str:
        return keys.public_key_text(self.issuer)

    def kiosk_key(self, kiosk: str) -> Ed25519PrivateKey:
        if kiosk not in self.kiosk_keys:
            self.kiosk_keys[kiosk] = keys.private_key_from_seed(os.urandom(32))
        return self.kiosk_keys[kiosk]

    def credential(self, *, staff: bool = False, name: str | None = "王*明", groups: int = 1,
                   learner: int | None = None, expires: int | None = None) -> card.Credential:
        if learner is None:
            self._next_learner += 1
            learner = int(ids.learner_code(self._next_learner))
        return card.Credential(
            issuer=self.county_id, issued_at=int(NOW.timestamp()), learner=learner,
            card=os.urandom(card.CARD_ID_BYTES), groups=groups, staff=staff, name=name,
            expires=expires, staff_secret=os.urandom(16) if staff else None,
        )

    def card_bytes(self, cred: card.Credential) -> bytes:
        return card.issue(cred, self.issuer)

    def qr(self, cred: card.Credential) -> str:
        return card.to_qr_text(self.card_bytes(cred))

    def registry(self, kiosks: dict[str, str], version: int = 1,
                 revoked: tuple[str, ...] = (), signers: dict[str, str] | None = None) -> county.Document:
        """kiosks: kiosk id -> venue id; signers: county signer id -> purpose (keys from
        :meth:`kiosk_key`, as a kiosk's)."""
        body = {
            "home_page": self.home_page,
            "venues": {v: {"name": v, "level": "township-school", "timezone": "Asia/Shanghai"}
                       for v in set(kiosks.values())},
            "kiosks": {
                k: {"venue": v, "level": "township-school",
                    "status": "revoked" if k in revoked else "active",
                    "keys": {"1": keys.public_key_text(self.kiosk_key(k))}}
                for k, v in kiosks.items()
            },
        }
        if signers:
            body["signers"] = {s: {"purpose": p, "status": "active", "keys": {"1": keys.public_key_text(self.kiosk_key(s))}}
                               for s, p in signers.items()}
        return county.sign_document("registry", self.county_id, version, body, self.issuer, NOW)

    def revocations(self, card_ids: list[str], version: int = 1) -> county.Document:
        body = {"cards": [{"card": c, "reason": "lost"} for c in card_ids]}
        return county.sign_document("revoked-cards", self.county_id, version, body, self.issuer, NOW)

    def staff_roster(self, staff: list[dict[str, object]], version: int = 1) -> county.Document:
        return county.sign_document("staff", self.county_id, version, {"staff": staff}, self.issuer, NOW)

    def programme(self, body: dict[str, object], version: int = 1) -> county.Document:
        return county.sign_document("programme", self.county_id, version, body, self.issuer, NOW)

    def credit_rules(self, body: dict[str, object], version: int = 1) -> county.Document:
        return county.sign_document("credit-rules", self.county_id, version, body, self.issuer, NOW)
