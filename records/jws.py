"""JWS compact serialization with EdDSA over Ed25519 (RFC 7515, RFC 8037).

Only what LearnCard needs: one signature, protected header only, ``alg`` = ``EdDSA``.
``verify`` raises and never returns False (pyca/cryptography style). The bytes that were
signed are the bytes that are kept: nothing here re-serializes a payload to check it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from records.encoding import b64url, b64url_decode
from records.errors import BadSignature, MalformedError, MalformedRecord


@dataclass(frozen=True)
class Compact:
    """A parsed, not yet verified, JWS compact serialization."""

    token: str
    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes

    @property
    def kid(self) -> str:
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else ""


@functools.lru_cache(maxsize=64)
def _encoded_header(items: tuple[tuple[str, Any], ...]) -> str:
    protected = {"alg": "EdDSA", **dict(items)}
    if protected["alg"] != "EdDSA":
        raise ValueError("only EdDSA is supported")
    return b64url(orjson.dumps(protected, option=orjson.OPT_SORT_KEYS))


def sign(payload: bytes, key: Ed25519PrivateKey, header: dict[str, Any]) -> str:
    """Sign ``payload``; ``header`` must not set ``alg`` to anything but EdDSA."""
    signing_input = (_encoded_header(tuple(sorted(header.items()))) + "." + b64url(payload)).encode(
        "ascii"
    )
    return signing_input.decode("ascii") + "." + b64url(key.sign(signing_input))


@functools.lru_cache(maxsize=1024)
def _decoded_header(part: str) -> Any:
    """A kiosk's records share one protected header: decoded once (callers only read it)."""
    return orjson.loads(b64url_decode(part))


def parse(token: str | bytes) -> Compact:
    """Split and decode a compact JWS without checking the signature."""
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError as err:
            raise MalformedRecord("a JWS is ASCII text") from err
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedRecord("a JWS compact serialization has three parts")
    try:
        header = _decoded_header(parts[0])
        payload = b64url_decode(parts[1])
        signature = b64url_decode(parts[2])
    except (MalformedError, orjson.JSONDecodeError) as err:
        raise MalformedRecord("the JWS parts are not base64url JSON") from err
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        raise MalformedRecord("the JWS header must say alg EdDSA")
    if "crit" in header:
        raise MalformedRecord("no critical JWS extensions are understood")
    if len(signature) != 64:
        raise MalformedRecord("an Ed25519 signature has 64 bytes")
    return Compact(token, header, payload, (parts[0] + "." + parts[1]).encode("ascii"), signature)


def verify(compact: Compact, key: Ed25519PublicKey) -> None:
    """Raise BadSignature unless ``compact`` was signed by ``key``."""
    try:
        key.verify(compact.signature, compact.signing_input)
    except InvalidSignature as err:
        raise BadSignature("the signature does not verify") from err


def verify_token(
    token: str | bytes, key_for: Callable[[str], Ed25519PublicKey]
) -> Compact:
    """Parse ``token``, look its key up by ``kid`` and verify; returns the parsed JWS."""
    compact = parse(token)
    verify(compact, key_for(compact.kid))
    return compact
