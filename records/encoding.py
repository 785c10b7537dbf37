"""Small byte encodings used by records and credentials: unpadded base64url and base45."""

from __future__ import annotations

import base64
import binascii

from records.errors import MalformedError

_B64URL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64_VALUE = {c: i for i, c in enumerate(_B64URL)}
_FROM_URL = bytes.maketrans(b"-_", b"+/")
_B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_INDEX = {c: i for i, c in enumerate(_B45)}


def b64url(data: bytes) -> str:
    """Unpadded base64url text of ``data`` (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str | bytes) -> bytes:
    """Decode unpadded base64url; raises MalformedError on anything else."""
    if isinstance(text, str):
        try:
            raw = text.encode("ascii")
        except UnicodeEncodeError as err:
            raise MalformedError("base64url text has non-ASCII characters") from err
    else:
        raw = text
    if b"=" in raw or b"+" in raw or b"/" in raw or len(raw) % 4 == 1:
        raise MalformedError("not unpadded base64url")
    try:
        data = binascii.a2b_base64(raw.translate(_FROM_URL) + b"=" * (-len(raw) % 4), strict_mode=True)
    except (binascii.Error, ValueError, TypeError) as err:
        raise MalformedError("not unpadded base64url") from err
    # only the canonical text of these bytes: the unused low bits of the last character
    # must be zero, so that a signed record has exactly one spelling
    if raw and len(raw) % 4 and _B64_VALUE[raw[-1]] & (0x0F if len(raw) % 4 == 2 else 0x03):
        raise MalformedError("not canonical unpadded base64url")
    return data


def b45encode(data: bytes) -> str:
    """Base45 (RFC 9285): two bytes become three characters, a last lone byte two."""
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        c, n = divmod(n, 45 * 45)
        e, d = divmod(n, 45)
        out.append(_B45[d] + _B45[e] + _B45[c])
    if len(data) % 2:
        e, d = divmod(data[-1], 45)
        out.append(_B45[d] + _B45[e])
    return "".join(out)


def b45decode(text: str) -> bytes:
    """Decode base45 (RFC 9285); raises MalformedError on a bad character or length."""
    try:
        values = [_B45_INDEX[c] for c in text]
    except KeyError as err:
        raise MalformedError(f"character {err.args[0]!r} is not base45") from err
    if len(values) % 3 == 1:
        raise MalformedError("base45 text has a dangling character")
    out = bytearray()
    for i in range(0, len(values) - 2, 3):
        n = values[i] + values[i + 1] * 45 + values[i + 2] * 45 * 45
        if n > 0xFFFF:
            raise MalformedError("base45 triplet out of range")
        out += n.to_bytes(2, "big")
    if len(values) % 3 == 2:
        n = values[-2] + values[-1] * 45
        if n > 0xFF:
            raise MalformedError("base45 pair out of range")
        out.append(n)
    return bytes(out)
