"""The error tree of :mod:`records`.

RecordError                       base of everything this package raises
├── VerificationError             a signature, header or chain link does not hold
│   ├── BadSignature              the signature does not verify with the key given
│   ├── UnknownKey                no key for the ``kid`` (unknown kiosk or key version)
│   └── WrongIssuer               a county document or card from another county
├── MalformedError                bytes that are not what they claim to be
│   ├── MalformedRecord           not a JWS compact record / not a CloudEvent
│   └── MalformedCredential       not a card credential (QR text, NDEF, CBOR, COSE)
├── CardRefused                   a valid-looking card that must not be accepted
│   (``reason`` is one of the fixed ``tap.rejected`` reasons)
├── InvalidLearnerCode            a learner code with a wrong length or check digit
├── ConsentRefused                no consent, or a minor without the guardian's (records/consent.py)
└── SunError                      an NTAG 424 DNA SUN message that is malformed or not the county's

Every error carries a short machine ``reason`` (used in receipts and ``tap.rejected``
records) and its message says what happened in words a person can act on.
"""

from __future__ import annotations


class RecordError(Exception):
    """Base of every error raised by :mod:`records`."""

    reason = "error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class VerificationError(RecordError):
    reason = "bad-signature"


class BadSignature(VerificationError):
    reason = "bad-signature"


class UnknownKey(VerificationError):
    reason = "unknown-kiosk"


class WrongIssuer(VerificationError):
    reason = "unknown-issuer"


class MalformedError(RecordError):
    reason = "malformed"


class MalformedRecord(MalformedError):
    reason = "malformed"


class MalformedCredential(MalformedError):
    reason = "malformed"


class CardRefused(RecordError):
    """A card that parses and may even verify, but must be refused (revoked, expired, ...)."""

    reason = "refused"


class InvalidLearnerCode(RecordError):
    reason = "bad-learner-code"


class SunError(RecordError):
    reason = "bad-sun"
