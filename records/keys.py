"""Ed25519 keys as bytes and text: no files here, callers read and write them."""

from __future__ import annotations

import functools

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from records.encoding import b64url, b64url_decode
from records.errors import MalformedError


def private_key_from_seed(seed: bytes) -> Ed25519PrivateKey:
    """A key from 32 random bytes the caller made (``os.urandom(32)``)."""
    return Ed25519PrivateKey.from_private_bytes(seed)


def private_key_to_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def private_key_from_pem(data: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise MalformedError("not a PEM private key") from err
    if not isinstance(key, Ed25519PrivateKey):
        raise MalformedError("the private key is not Ed25519")
    return key


def public_key_text(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The raw 32-byte public key as unpadded base64url (the JWK ``x`` value)."""
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    return b64url(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


@functools.lru_cache(maxsize=4096)
def public_key_from_text(text: str) -> Ed25519PublicKey:
    """The key object for a base64url public key (cached: the gateway asks per record)."""
    raw = b64url_decode(text)
    if len(raw) != 32:
        raise MalformedError("an Ed25519 public key has 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_jwk(key: Ed25519PublicKey | Ed25519PrivateKey, kid: str) -> dict[str, str]:
    """The public key as an OKP JWK (RFC 8037), for JOSE libraries of county consumers."""
    return {"kty": "OKP", "crv": "Ed25519", "x": public_key_text(key), "kid": kid}
