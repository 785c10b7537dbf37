"""A learner's study summary, signed by the county, for the QR code on a 学习证明.

Anyone holding the county's issuer public key and its signed registry checks it offline
(``learncard verify``): the registry names the county signer whose key signed it (purpose
``statements``), the issuer key vouches for the registry.

Form: a COSE_Sign1 (EdDSA) like the walk-in slip (:mod:`records.slip`): protected header
``kid`` (label 4) = ``<signer>/<key version>``. Claims (integer keys):

====  ==========================================================
1     iss: the county id
6     iat: when the statement was made, Unix seconds
-1    the learner code (13 digits)
-2    rows: ``[[term, venue, minutes], ...]`` — credited minutes per term and venue
-3    total credited minutes
-4    voided records left out
====  ==========================================================

QR text: ``LCS1:`` + base45 of the COSE bytes. No name is ever in it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from records.card import COSE_ALG_EDDSA, COSE_SIGN1_TAG, sig_structure
from records.encoding import b45decode, b45encode
from records.errors import MalformedRecord, RecordError, VerificationError, WrongIssuer

QR_PREFIX = "LCS1:"
COSE_KID = 4
CLAIM_ISS, CLAIM_IAT = 1, 6
CLAIM_LEARNER, CLAIM_ROWS, CLAIM_TOTAL, CLAIM_VOIDED = -1, -2, -3, -4
STATEMENTS_PURPOSE = "statements"


@dataclass(frozen=True)
class Summary:
    county: str
    kid: str  # <signer>/<key version>
    learner: str
    issued_at: int
    rows: tuple[tuple[str, str, int], ...]  # (term, venue, minutes)
    total_minutes: int
    voided_left_out: int

    def as_json(self) -> dict[str, Any]:
        return {"county": self.county, "signer": self.kid, "learner": self.learner, "issued_at": self.issued_at,
                "rows": [{"term": t, "venue": v, "minutes": m} for t, v, m in self.rows],
                "total_minutes": self.total_minutes, "voided_left_out": self.voided_left_out}


def sign(summary: Summary, key: Ed25519PrivateKey) -> bytes:
    protected = bytes(cbor2.dumps({1: COSE_ALG_EDDSA, COSE_KID: summary.kid.encode()}))
    payload = bytes(cbor2.dumps({CLAIM_ISS: summary.county, CLAIM_IAT: summary.issued_at,
                                 CLAIM_LEARNER: summary.learner, CLAIM_ROWS: [list(r) for r in summary.rows],
                                 CLAIM_TOTAL: summary.total_minutes, CLAIM_VOIDED: summary.voided_left_out}))
    signature = key.sign(sig_structure(protected, payload))
    return bytes(cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature])))


def to_qr_text(data: bytes) -> str:
    return QR_PREFIX + b45encode(data)


def _rows(value: Any) -> tuple[tuple[str, str, int], ...]:
    if not isinstance(value, list):
        raise ValueError("rows")
    out = []
    for row in value:
        term, venue, minutes = row
        if not (isinstance(term, str) and isinstance(venue, str) and isinstance(minutes, int)):
            raise ValueError("row")
        out.append((term, venue, minutes))
    return tuple(out)


def verify(text: str, county: str, key_for: Callable[[str], Ed25519PublicKey]) -> Summary:
    """The summary if the county's statements signer signed it; raise otherwise.
    ``key_for(kid)`` is the registry's lookup of a signer with the purpose ``statements``."""
    text = text.strip()
    if not text.startswith(QR_PREFIX):
        raise MalformedRecord("这不是学习证明的二维码 / this is not a learning-record QR code (LCS1:)")
    try:
        obj = cbor2.loads(b45decode(text[len(QR_PREFIX):]))
        if isinstance(obj, cbor2.CBORTag) and obj.tag == COSE_SIGN1_TAG:
            obj = obj.value
        protected, _unprotected, payload, signature = obj
        header, claims = cbor2.loads(protected), cbor2.loads(payload)
        if not (isinstance(header, Mapping) and isinstance(claims, Mapping) and header.get(1) == COSE_ALG_EDDSA):
            raise ValueError("header")
        summary = Summary(str(claims[CLAIM_ISS]), bytes(header[COSE_KID]).decode("ascii"),
                          str(claims[CLAIM_LEARNER]), int(claims[CLAIM_IAT]), _rows(claims[CLAIM_ROWS]),
                          int(claims[CLAIM_TOTAL]), int(claims[CLAIM_VOIDED]))
    except Exception as err:  # cbor2, base45 and unpacking raise many types for bad input  # noqa: BLE001
        raise MalformedRecord(f"学习证明二维码无法识别 / the learning-record QR code is not readable: {err}") from err
    if summary.county != county:
        raise WrongIssuer(f"这份学习证明不是本县的 / this record was made by county {summary.county!r}")
    try:
        key = key_for(summary.kid)
    except RecordError as err:
        raise VerificationError(f"签名者不在注册表中 / the signer {summary.kid!r} is not the county's "
                                f"statements signer: {err}") from err
    try:
        key.verify(bytes(signature), sig_structure(protected, payload))
    except InvalidSignature as err:
        raise VerificationError("签名不对，可能被改动过 / the signature is wrong: the record may have been altered",
                                reason="bad-signature") from err
    return summary
