"""The county's signed documents: the kiosk registry, the card revocation list, the
staff roster, the programme (课程表, :mod:`records.programme`) and the credit rules
(学时规则, :class:`records.rules.RuleBook`).

Each is a JWS compact serialization (EdDSA, the county issuer key) whose payload is
``{"kind", "county", "version", "issued", "body"}``. Versions only go up: a holder keeps
the newest one it has verified and ignores older ones (see :func:`newer`).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from records import jws
from records.errors import MalformedRecord, UnknownKey, VerificationError, WrongIssuer
from records.ids import is_reserved_name
from records.keys import public_key_from_text
from records.record import format_time

KINDS = ("registry", "revoked-cards", "staff", "programme", "credit-rules")
# the pages and indexes of the paged kinds (records/county_pages.py): kinds of their own, so a
# page never passes as a whole document
PAGE_KINDS = tuple(f"{k}-{part}" for k in ("registry", "revoked-cards", "staff", "programme")
                   for part in ("page", "index"))
# the largest MQTT message (a record message or a county document) the county's broker
# carries: 256 KiB (topics.md); the broker's max_packet_size adds room for the topic and
# framing (MAX_PACKET), so the two always agree
MAX_MESSAGE = 256 * 1024
MAX_PACKET = 270_000
KIOSK_ACTIVE, KIOSK_REVOKED = "active", "revoked"
SIGNER_PREFIX = "county"  # county signers' ids; reserved: no kiosk takes a name starting so
VENUE_LEVELS = ("county-college", "township-school", "village-station", "library", "cultural-centre")


@dataclass(frozen=True)
class Document:
    token: str
    kind: str
    county: str
    version: int
    issued: str
    body: dict[str, Any]


def county_kid(county: str) -> str:
    return f"county:{county}"


def sign_document(
    kind: str, county: str, version: int, body: dict[str, Any], key: Ed25519PrivateKey,
    issued: datetime,
) -> Document:
    if kind not in KINDS and kind not in PAGE_KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    payload = {
        "kind": kind,
        "county": county,
        "version": version,
        "issued": format_time(issued),
        "body": body,
    }
    token = jws.sign(
        orjson.dumps(payload, option=orjson.OPT_SORT_KEYS), key, {"kid": county_kid(county)}
    )
    return Document(token, kind, county, version, format_time(issued), body)


def verify_document(
    token: str | bytes, key: Ed25519PublicKey, kind: str, county: str
) -> Document:
    """The document if the county's key signed it and it is the kind expected; else raise."""
    compact = jws.parse(token)
    if compact.kid != county_kid(county):
        raise WrongIssuer(f"the {kind} is signed for {compact.kid!r}, not this county")
    jws.verify(compact, key)
    try:
        payload = orjson.loads(compact.payload)
    except orjson.JSONDecodeError as err:
        raise MalformedRecord(f"the {kind} payload is not JSON") from err
    if not isinstance(payload, dict) or payload.get("kind") != kind:
        raise MalformedRecord(f"this document is not a {kind}")
    if payload.get("county") != county:
        raise WrongIssuer(f"the {kind} belongs to another county")
    version, body = payload.get("version"), payload.get("body")
    if not isinstance(version, int) or version < 1 or not isinstance(body, dict):
        raise MalformedRecord(f"the {kind} has no version or body")
    return Document(compact.token, kind, county, version, str(payload.get("issued")), body)


def newer(current: Document | None, candidate: Document) -> bool:
    """Whether ``candidate`` should replace ``current`` (strictly higher version)."""
    return current is None or candidate.version > current.version


@dataclass(frozen=True)
class Registry:
    """The kiosk registry: venues, kiosks, their key versions and status.

    body = {"home_page": IRI, "venues": {id: {"name", "level", "timezone"}},
            "kiosks": {id: {"venue", "level", "status", "keys": {"1": x, ...}}},
            "signers": {id: {"purpose", "status", "keys": {"1": x, ...}}}}

    ``signers`` are the county's own record signers (e.g. ``county-corrections``, purpose
    ``corrections``): their records are chained and verified like a kiosk's, but they belong
    to no venue and their ids start with ``county`` — a name no kiosk may take.
    """

    document: Document

    def __post_init__(self) -> None:
        reserved = sorted(k for k, e in self.kiosks.items()
                          if is_reserved_name(k) and e.get("status") == KIOSK_ACTIVE)
        if reserved:
            raise MalformedRecord(
                f"registry version {self.document.version} names active kiosks with names reserved "
                f"for the county's own services: {', '.join(reserved)} — refused; revoke them "
                "(`learncard provision revoke ID`) and re-enrol under another name")

    @property
    def home_page(self) -> str:
        return str(self.document.body.get("home_page", ""))

    @property
    def kiosks(self) -> dict[str, dict[str, Any]]:
        kiosks = self.document.body.get("kiosks", {})
        assert isinstance(kiosks, dict)
        return kiosks

    @property
    def venues(self) -> dict[str, dict[str, Any]]:
        venues = self.document.body.get("venues", {})
        assert isinstance(venues, dict)
        return venues

    @property
    def signers(self) -> dict[str, dict[str, Any]]:
        signers = self.document.body.get("signers", {})
        assert isinstance(signers, dict)
        return {k: e for k, e in signers.items() if k.startswith(SIGNER_PREFIX) and k not in self.kiosks}

    def purpose_of(self, signer: str) -> str | None:
        """The purpose the registry names for a county signer (None: not a county signer)."""
        entry = self.signers.get(signer)
        return None if entry is None else str(entry.get("purpose"))

    def key_for(self, kid: str) -> Ed25519PublicKey:
        """The public key for ``<kiosk>/<version>`` (or a county signer's); UnknownKey or
        revoked-kiosk otherwise."""
        key = self.registered_key(kid)
        if not self.is_active(kid.partition("/")[0]):
            raise VerificationError(f"kiosk {kid.partition('/')[0]!r} is revoked", reason="revoked-kiosk")
        return key

    def registered_key(self, kid: str) -> Ed25519PublicKey:
        """The public key for ``<kiosk>/<version>`` whatever the kiosk's status (a revoked
        kiosk's records are still checked to be its own); UnknownKey otherwise."""
        kiosk, _, version = kid.partition("/")
        entry = self.kiosks.get(kiosk) or self.signers.get(kiosk)
        if entry is None:
            raise UnknownKey(f"kiosk {kiosk!r} is not in the registry", reason="unknown-kiosk")
        key = entry.get("keys", {}).get(version)
        if key is None:
            raise UnknownKey(f"kiosk {kiosk!r} has no key version {version!r}", reason="unknown-key")
        return public_key_from_text(key)

    def is_active(self, kiosk: str) -> bool:
        entry = self.kiosks.get(kiosk) or self.signers.get(kiosk)
        return entry is not None and entry.get("status") == KIOSK_ACTIVE

    def kiosk_key_for(self, kid: str) -> Ed25519PublicKey:
        """As :meth:`key_for`, for kiosks only (a walk-in slip is signed by a kiosk, never by
        a county signer)."""
        if kid.partition("/")[0] not in self.kiosks:
            raise UnknownKey(f"{kid.partition('/')[0]!r} is not a kiosk of the registry", reason="unknown-kiosk")
        return self.key_for(kid)

    def signer_key_for(self, kid: str, purpose: str) -> Ed25519PublicKey:
        """As :meth:`key_for`, for a county signer the registry names for ``purpose`` only."""
        if self.purpose_of(kid.partition("/")[0]) != purpose:
            raise UnknownKey(f"{kid.partition('/')[0]!r} is not the county's {purpose!r} signer", reason="unknown-key")
        return self.key_for(kid)

    def venue_of(self, kiosk: str) -> str | None:
        entry = self.kiosks.get(kiosk)
        return None if entry is None else str(entry.get("venue"))


def revoked_cards(document: Document) -> frozenset[str]:
    """The card ids (16 hex digits) of a ``revoked-cards`` document."""
    return frozenset(str(c["card"]) for c in document.body.get("cards", []))


# --- staff PINs: a memory-hard hash of the PIN *and* the staff card's secret -------------
#
# The roster reaches every kiosk, so a stolen kiosk holds every PIN hash. Each staff card
# carries a random 128-bit secret (card claim -6) that is written nowhere else the kiosk
# keeps: without the physical card a roster hash is a search over 2^128 secrets, not over
# 10^4..10^6 PINs. scrypt's N = 2^15, r = 8 takes 32 MiB and ~0.1 s per try on a desktop
# core (docs/benchmarks.md), a fraction of a second on a small kiosk board.

PIN_SCHEME = "scrypt-card"
OLD_PIN_SCHEME = "scrypt"  # PIN only (before the card secret): refused, see docs/cards.md
PIN_SCRYPT_N, PIN_SCRYPT_R, PIN_SCRYPT_P = 2**15, 8, 1
CARD_SECRET_BYTES = 16
_SCRYPT_MAXMEM = 256 * 1024 * 1024


def _pin_digest(pin: str, card_secret: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    if len(card_secret) < CARD_SECRET_BYTES:
        raise ValueError(f"a staff card secret has at least {CARD_SECRET_BYTES} bytes")
    return hashlib.scrypt(pin.encode("utf-8") + b"\x00" + card_secret, salt=salt, n=n, r=r, p=p,
                          dklen=32, maxmem=_SCRYPT_MAXMEM)


def hash_pin(pin: str, card_secret: bytes, salt: bytes, n: int = PIN_SCRYPT_N) -> str:
    """``scrypt-card$n$r$p$salt-hex$hash-hex``: the only form a PIN is ever stored in."""
    digest = _pin_digest(pin, card_secret, salt, n, PIN_SCRYPT_R, PIN_SCRYPT_P)
    return f"{PIN_SCHEME}${n}${PIN_SCRYPT_R}${PIN_SCRYPT_P}${salt.hex()}${digest.hex()}"


def pin_scheme(stored: str) -> str:
    """The scheme of a stored PIN hash (``scrypt-card``, the refused ``scrypt``, or '')."""
    scheme = stored.split("$", 1)[0]
    return scheme if scheme in (PIN_SCHEME, OLD_PIN_SCHEME) else ""


def check_pin(pin: str, card_secret: bytes | None, stored: str) -> bool:
    """Whether ``pin`` with the card's secret matches a :func:`hash_pin` string
    (constant-time compare). False for the old PIN-only form and without a card secret."""
    if not card_secret:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != PIN_SCHEME:
            return False
        actual = _pin_digest(pin, card_secret, bytes.fromhex(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual.hex(), digest)


def staff_by_card(document: Document) -> dict[str, dict[str, Any]]:
    """Staff roster entries by card id. Entry: staff_id, card, role, venues, pin_hash."""
    return {str(s["card"]): s for s in document.body.get("staff", []) if "card" in s}
