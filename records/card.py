"""The learning card's credential: a CWT (RFC 8392) in COSE_Sign1 with EdDSA.

See ``shared/contract/card.md``. Claim keys are integers; our private claims are small
negative integers. No ``kid``: the issuer claim names the county and the kiosk holds
that county's issuer public key. The same bytes go on NFC (one NDEF record, see
:mod:`records.ndef`) and into a QR code as ``LC1:`` + base45.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from records import ndef
from records.encoding import b45decode, b45encode
from records.errors import (
    BadSignature,
    CardRefused,
    MalformedCredential,
    MalformedError,
    WrongIssuer,
)
from records.ids import format_learner_code

QR_PREFIX = "LC1:"
COSE_SIGN1_TAG = 18
COSE_ALG_EDDSA = -8
# CWT claim keys: registered (RFC 8392) and ours (private, negative)
CLAIM_ISS, CLAIM_EXP, CLAIM_IAT = 1, 4, 6
CLAIM_LEARNER, CLAIM_CARD, CLAIM_GROUPS, CLAIM_ROLE, CLAIM_NAME = -1, -2, -3, -4, -5
CLAIM_STAFF_SECRET = -6  # staff cards: 16 random bytes mixed into the PIN hash (records.county)
ROLE_STAFF = 1
CARD_ID_BYTES = 8
GROUPS = {"elder": 1, "youth": 2, "migrant": 4, "disabled": 8}


@dataclass(frozen=True)
class Credential:
    """What a card says about its holder. ``learner`` is the 13-digit code as an integer."""

    issuer: str
    issued_at: int
    learner: int
    card: bytes
    groups: int = 0
    staff: bool = False
    name: str | None = None
    expires: int | None = None
    # staff cards only: mixed into the PIN hash; never logged, never in a record
    staff_secret: bytes | None = field(default=None, repr=False)

    @property
    def card_id(self) -> str:
        """The card id as 16 hex digits: how records and revocation lists name a card."""
        return self.card.hex()

    @property
    def learner_code(self) -> str:
        return format_learner_code(self.learner)

    @property
    def group_names(self) -> list[str]:
        return [name for name, bit in GROUPS.items() if self.groups & bit]


def groups_mask(names: Collection[str]) -> int:
    unknown = set(names) - set(GROUPS)
    if unknown:
        raise ValueError(f"unknown learner groups {sorted(unknown)}; known: {sorted(GROUPS)}")
    mask = 0
    for name in names:
        mask |= GROUPS[name]
    return mask


def mask_name(full_name: str) -> str:
    """The greeting form of a name: first and last character, the middle hidden (王*明)."""
    name = full_name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _claims(cred: Credential) -> dict[int, Any]:
    if len(cred.card) != CARD_ID_BYTES:
        raise ValueError(f"a card id has {CARD_ID_BYTES} bytes")
    claims: dict[int, Any] = {
        CLAIM_ISS: cred.issuer,
        CLAIM_IAT: cred.issued_at,
        CLAIM_LEARNER: cred.learner,
        CLAIM_CARD: cred.card,
    }
    if cred.groups:
        claims[CLAIM_GROUPS] = cred.groups
    if cred.staff:
        claims[CLAIM_ROLE] = ROLE_STAFF
    if cred.name:
        claims[CLAIM_NAME] = cred.name
    if cred.expires is not None:
        claims[CLAIM_EXP] = cred.expires
    if cred.staff_secret is not None:
        claims[CLAIM_STAFF_SECRET] = cred.staff_secret
    return claims


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    return bytes(cbor2.dumps(["Signature1", protected, b"", payload]))


def issue(cred: Credential, key: Ed25519PrivateKey) -> bytes:
    """The signed credential bytes (a tagged COSE_Sign1)."""
    protected = bytes(cbor2.dumps({1: COSE_ALG_EDDSA}))
    payload = bytes(cbor2.dumps(_claims(cred)))
    signature = key.sign(sig_structure(protected, payload))
    return bytes(
        cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    )


def _malformed(what: str) -> MalformedCredential:
    return MalformedCredential(f"卡片数据无法识别 / the card data is not readable: {what}")


def _unpack(data: bytes) -> tuple[bytes, bytes, bytes, Credential]:
    try:
        obj = cbor2.loads(data)
    except Exception as err:  # cbor2 raises several types for bad input  # noqa: BLE001
        raise _malformed("not CBOR") from err
    if isinstance(obj, cbor2.CBORTag):
        if obj.tag != COSE_SIGN1_TAG:
            raise _malformed("not a COSE_Sign1")
        obj = obj.value
    if not (isinstance(obj, list | tuple) and len(obj) == 4):
        raise _malformed("not a COSE_Sign1")
    protected, _unprotected, payload, signature = obj
    if not all(isinstance(x, bytes) for x in (protected, payload, signature)):
        raise _malformed("COSE parts have the wrong types")
    try:
        header = cbor2.loads(protected)
        claims = cbor2.loads(payload)
    except Exception as err:  # noqa: BLE001
        raise _malformed("COSE parts are not CBOR") from err
    if not isinstance(header, Mapping) or header.get(1) != COSE_ALG_EDDSA:
        raise _malformed("the signature algorithm is not EdDSA")
    if not isinstance(claims, Mapping):
        raise _malformed("the claims are not a map")
    try:
        issuer, iat = claims[CLAIM_ISS], claims[CLAIM_IAT]
        learner, card = claims[CLAIM_LEARNER], claims[CLAIM_CARD]
    except KeyError as err:
        raise _malformed(f"claim {err.args[0]} is missing") from err
    groups = claims.get(CLAIM_GROUPS, 0)
    name = claims.get(CLAIM_NAME)
    exp = claims.get(CLAIM_EXP)
    secret = claims.get(CLAIM_STAFF_SECRET)
    if not (
        isinstance(issuer, str)
        and isinstance(iat, int)
        and isinstance(learner, int)
        and isinstance(card, bytes)
        and len(card) == CARD_ID_BYTES
        and isinstance(groups, int)
        and (name is None or isinstance(name, str))
        and (exp is None or isinstance(exp, int))
        and (secret is None or isinstance(secret, bytes))
    ):
        raise _malformed("a claim has the wrong type")
    cred = Credential(
        issuer=issuer,
        issued_at=iat,
        learner=learner,
        card=card,
        groups=groups,
        staff=claims.get(CLAIM_ROLE) == ROLE_STAFF,
        name=name,
        expires=exp,
        staff_secret=secret,
    )
    return protected, payload, signature, cred


def decode_unverified(data: bytes) -> Credential:
    """What the credential claims, without checking the signature (for display in tools)."""
    return _unpack(data)[3]


def verify(data: bytes, issuers: Mapping[str, Ed25519PublicKey]) -> Credential:
    """The credential if it was signed by the key of the county it names; raises otherwise."""
    protected, payload, signature, cred = _unpack(data)
    key = issuers.get(cred.issuer)
    if key is None:
        raise WrongIssuer(
            "这张卡不是本县发的 / this card was issued by another county", reason="unknown-issuer"
        )
    try:
        key.verify(signature, sig_structure(protected, payload))
    except InvalidSignature as err:
        raise BadSignature(
            "这张卡的签名不对，可能是伪造的 / the card's signature is wrong: it may be forged",
            reason="forged",
        ) from err
    return cred


def check_usable(cred: Credential, revoked_cards: Collection[str], now_unix: int) -> None:
    """Raise CardRefused if the card is revoked or expired."""
    if cred.card_id in revoked_cards:
        raise CardRefused(
            "这张卡已挂失停用，请到服务台 / this card has been revoked: please see the staff desk",
            reason="revoked",
        )
    if cred.expires is not None and now_unix >= cred.expires:
        raise CardRefused(
            "这张卡已过期，请到服务台换卡 / this card has expired: please see the staff desk",
            reason="expired",
        )


def to_qr_text(data: bytes) -> str:
    return QR_PREFIX + b45encode(data)


def from_qr_text(text: str) -> bytes:
    text = text.strip()
    if not text.startswith(QR_PREFIX):
        raise MalformedCredential(
            "这不是学习卡二维码 / this is not a learning-card QR code", reason="malformed"
        )
    try:
        return b45decode(text[len(QR_PREFIX) :])
    except MalformedError as err:
        raise MalformedCredential(
            "二维码内容不完整 / the QR code is damaged or incomplete", reason="malformed"
        ) from err


def to_ndef(data: bytes) -> bytes:
    """The NDEF message for a tag (add :func:`records.ndef.type2_tlv` for Type 2 memory)."""
    return ndef.encode_message(data)


def from_ndef(message: bytes) -> bytes:
    return ndef.decode_message(message)
