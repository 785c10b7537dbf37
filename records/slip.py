"""The walk-in slip: a credential a kiosk signs for a resident who has no county card yet.

A walk-in gets a temporary learner id (``T`` and 12 digits) when staff enrol them. The slip
carries it so that the resident can check in again — at this kiosk or at any kiosk of the
county — until the county links the temporary id to a learner code and issues a card.

Form: a COSE_Sign1 (EdDSA) like the card (:mod:`records.card`), but signed by the kiosk
with its record-signing key, so the protected header names the key the way a record's JWS
does: COSE ``kid`` (label 4) = ``<kiosk>/<key version>``. Any kiosk that holds the county's
registry verifies it offline. Claims (integer keys):

====  ==========================================================
1     iss: the county id
4     exp: expiry, Unix seconds (a slip always expires)
6     iat: when the kiosk made it
-1    the temporary learner id, text ``T`` + 12 digits
-6    the venue that enrolled the walk-in
====  ==========================================================

QR text: ``LCT1:`` + base45 of the COSE bytes (``LCT:`` + the bare id was version 1's
unsigned on-screen code; it is refused with its own reason).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from records.card import COSE_ALG_EDDSA, COSE_SIGN1_TAG, sig_structure
from records.encoding import b45decode, b45encode
from records.errors import CardRefused, MalformedError, RecordError

QR_PREFIX = "LCT1:"
OLD_PREFIX = "LCT:"  # version 1: the bare temporary id, unsigned
COSE_KID = 4
CLAIM_ISS, CLAIM_EXP, CLAIM_IAT = 1, 4, 6
CLAIM_TEMP, CLAIM_VENUE = -1, -6
TEMP_ID = re.compile(r"^T[0-9]{12}$")
DEFAULT_DAYS = 90


class SlipRefused(CardRefused):
    """A slip that must not be accepted. ``reason``: ``slip-forged``, ``slip-expired``,
    ``slip-unknown-kiosk``, ``slip-other-county``, ``slip-malformed``, ``slip-unsigned``."""

    reason = "slip-forged"


@dataclass(frozen=True)
class Slip:
    county: str
    kid: str  # <kiosk>/<key version> of the kiosk that signed it
    learner: str  # T + 12 digits
    venue: str
    issued_at: int
    expires: int

    @property
    def kiosk(self) -> str:
        return self.kid.partition("/")[0]


def is_temporary_id(text: str) -> bool:
    return bool(TEMP_ID.match(text))


def issue(slip: Slip, key: Ed25519PrivateKey) -> bytes:
    """The signed slip bytes (a tagged COSE_Sign1)."""
    if not is_temporary_id(slip.learner):
        raise ValueError(f"{slip.learner!r} is not a temporary learner id (T and 12 digits)")
    if slip.expires <= slip.issued_at:
        raise ValueError("a slip must expire after it is made")
    protected = bytes(cbor2.dumps({1: COSE_ALG_EDDSA, COSE_KID: slip.kid.encode()}))
    payload = bytes(cbor2.dumps({CLAIM_ISS: slip.county, CLAIM_IAT: slip.issued_at, CLAIM_EXP: slip.expires,
                                 CLAIM_TEMP: slip.learner, CLAIM_VENUE: slip.venue}))
    signature = key.sign(sig_structure(protected, payload))
    return bytes(cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature])))


def _refuse(reason: str, zh: str, en: str) -> SlipRefused:
    return SlipRefused(f"{zh} / {en}", reason=reason)


def _malformed(what: str) -> SlipRefused:
    return _refuse("slip-malformed", "临时学习凭条无法识别", f"the walk-in slip is not readable: {what}")


def _unpack(data: bytes) -> tuple[bytes, bytes, bytes, Slip]:
    try:
        obj = cbor2.loads(data)
        if isinstance(obj, cbor2.CBORTag) and obj.tag == COSE_SIGN1_TAG:
            obj = obj.value
        protected, _unprotected, payload, signature = obj
        header = cbor2.loads(protected)
        claims = cbor2.loads(payload)
    except Exception as err:  # cbor2 and unpacking raise several types for bad input  # noqa: BLE001
        raise _malformed("not a COSE_Sign1") from err
    if not (isinstance(header, Mapping) and isinstance(claims, Mapping)
            and isinstance(signature, bytes) and header.get(1) == COSE_ALG_EDDSA):
        raise _malformed("not an EdDSA COSE_Sign1")
    kid: Any = header.get(COSE_KID)
    values = (claims.get(CLAIM_ISS), claims.get(CLAIM_IAT), claims.get(CLAIM_EXP),
              claims.get(CLAIM_TEMP), claims.get(CLAIM_VENUE))
    county, iat, exp, temp, venue = values
    if not (isinstance(kid, bytes) and isinstance(county, str) and isinstance(iat, int)
            and isinstance(exp, int) and isinstance(temp, str) and isinstance(venue, str)
            and is_temporary_id(temp)):
        raise _malformed("a claim is missing or has the wrong type")
    try:
        kid_text = kid.decode("ascii")
    except UnicodeDecodeError as err:
        raise _malformed("the key id is not text") from err
    return protected, payload, signature, Slip(county, kid_text, temp, venue, iat, exp)


def decode_unverified(data: bytes) -> Slip:
    """What the slip claims, without checking it (for tools and printed copies)."""
    return _unpack(data)[3]


def verify(data: bytes, county: str, key_for: Callable[[str], Ed25519PublicKey], now_unix: int) -> Slip:
    """The slip if a kiosk of ``county`` signed it with its registered key and it has not
    expired; SlipRefused with its own reason otherwise. ``key_for(kid)`` is the registry's
    lookup (it raises for an unknown or revoked kiosk)."""
    protected, payload, signature, slip = _unpack(data)
    if slip.county != county:
        raise _refuse("slip-other-county", "这张临时凭条不是本县发的",
                      "this walk-in slip was made in another county")
    try:
        key = key_for(slip.kid)
    except RecordError as err:
        raise _refuse("slip-unknown-kiosk", "开这张凭条的设备不在本县登记中，请到服务台",
                      "the kiosk that made this slip is not registered: please see the staff desk") from err
    try:
        key.verify(signature, sig_structure(protected, payload))
    except InvalidSignature as err:
        raise _refuse("slip-forged", "这张临时凭条的签名不对，可能是伪造的，请到服务台",
                      "the walk-in slip's signature is wrong: it may be forged; please see the staff desk") from err
    if now_unix >= slip.expires:
        raise _refuse("slip-expired", "这张临时凭条已过期，请到服务台办理学习卡",
                      "this walk-in slip has expired: please see the staff desk for a learning card")
    return slip


def to_qr_text(data: bytes) -> str:
    return QR_PREFIX + b45encode(data)


def is_slip_text(text: str) -> bool:
    return text.strip().startswith((QR_PREFIX, OLD_PREFIX))


def from_qr_text(text: str) -> bytes:
    text = text.strip()
    if text.startswith(QR_PREFIX):
        try:
            return b45decode(text[len(QR_PREFIX):])
        except MalformedError as err:
            raise _malformed("damaged QR text") from err
    if text.startswith(OLD_PREFIX):
        raise _refuse("slip-unsigned", "这是旧式临时学习号，请到服务台重新打印凭条",
                      "this is an old, unsigned walk-in code: please ask the staff desk for a new slip")
    raise _malformed("not a walk-in slip")
