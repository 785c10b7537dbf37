"""Kiosk enrolment: the kiosk makes its keys and a signed request; county IT checks it,
signs the TLS certificate, adds the signing key to the registry and writes the kiosk's
configuration bundle. The kiosk's private keys never leave the kiosk (but with
``--generate``, for a lab).

The request is a JWS compact serialization signed by the kiosk's own Ed25519 signing key
(proof that it holds the key; any change breaks the signature), whose payload is
``{"kind": "learncard-enroll-request", "kiosk", "signing_key", "csr", "made"}``.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provisioning import ca
from provisioning.errors import RegistryError, RequestError
from provisioning.files import write_atomic, write_secret
from provisioning.home import CountyHome
from records import jws, keys
from records.county import KIOSK_ACTIVE, VENUE_LEVELS
from records.errors import RecordError
from records.ids import is_reserved_name, is_valid_name

REQUEST_KIND = "learncard-enroll-request"


def check_kiosk_id(kiosk: str) -> None:
    if not is_valid_name(kiosk):
        raise RequestError(f"kiosk id {kiosk!r} must match [a-z0-9-]{{3,40}} "
                           "(no '+', '#' or '/': it is an MQTT topic level)")
    if is_reserved_name(kiosk):
        raise RequestError(f"kiosk id {kiosk!r} is reserved for the county's own services "
                           "(names starting gateway, consumer-, county or broker): choose another, "
                           "e.g. k-<venue>-1")


@dataclass(frozen=True)
class Request:
    kiosk: str
    signing_key: str  # base64url Ed25519 public key
    csr: bytes


def make_request(folder: Path, kiosk: str) -> Path:
    """On the kiosk: signing key + TLS key (0600, kept here) and the signed request."""
    check_kiosk_id(kiosk)
    signing = keys.private_key_from_seed(os.urandom(32))
    tls = ca.new_key()
    write_secret(folder / "kiosk.key", keys.private_key_to_pem(signing))
    write_secret(folder / "tls.key", ca.key_pem(tls))
    path = folder / "enroll-request.jws"
    write_atomic(path, request_token(kiosk, signing, tls) + "\n")
    return path


def request_token(kiosk: str, signing: Ed25519PrivateKey, tls: ec.EllipticCurvePrivateKey) -> str:
    """The signed request for these keys (enrolment, and certificate renewal with the same keys)."""
    payload = {"kind": REQUEST_KIND, "kiosk": kiosk, "signing_key": keys.public_key_text(signing),
               "csr": ca.make_csr(kiosk, tls).decode("ascii"),
               "made": datetime.now(UTC).isoformat(timespec="seconds")}
    return jws.sign(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS), signing, {"kid": f"enroll:{kiosk}"})


def request_qr_png(token: str) -> bytes:
    """The request as a QR code for the kiosk's screen (county IT scans it)."""
    import qrcode

    image = qrcode.make(token, error_correction=qrcode.constants.ERROR_CORRECT_L, box_size=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def read_request(token: str) -> Request:
    """Check a request: its signature by the key it carries, its kiosk id, its CSR."""
    try:
        compact = jws.parse(token.strip())
        payload = orjson.loads(compact.payload)
    except (RecordError, orjson.JSONDecodeError) as err:
        raise RequestError(f"this is not an enrolment request: {err}") from err
    if not isinstance(payload, dict) or payload.get("kind") != REQUEST_KIND:
        raise RequestError("this is not an enrolment request")
    kiosk = str(payload.get("kiosk", ""))
    check_kiosk_id(kiosk)
    try:
        public = keys.public_key_from_text(str(payload.get("signing_key", "")))
        jws.verify(compact, public)
    except RecordError as err:
        raise RequestError("the enrolment request's signature does not verify: it was changed "
                           "after the kiosk made it") from err
    if compact.kid != f"enroll:{kiosk}":
        raise RequestError("the enrolment request's header does not match its kiosk id")
    csr = str(payload.get("csr", "")).encode("ascii")
    ca.check_csr(csr, kiosk)
    return Request(kiosk, str(payload["signing_key"]), csr)


def register(home: CountyHome, request: Request, venue: str, level: str, venue_name: str) -> Any:
    """Add the kiosk to the registry (a new signed version)."""
    if not is_valid_name(venue):
        raise RequestError(f"venue id {venue!r} must match [a-z0-9-]{{3,40}}")
    if level not in VENUE_LEVELS:
        raise RequestError(f"level must be one of {', '.join(VENUE_LEVELS)}")
    body = dict(home.load_document("registry").body)
    kiosks, venues = dict(body.get("kiosks", {})), dict(body.get("venues", {}))
    if request.kiosk in kiosks:
        raise RegistryError(f"kiosk {request.kiosk!r} is enrolled already "
                            "(use `provision rekey` for a new key)")
    venues.setdefault(venue, {"name": venue_name or venue, "level": level, "timezone": "Asia/Shanghai"})
    kiosks[request.kiosk] = {"venue": venue, "level": level, "status": KIOSK_ACTIVE,
                             "keys": {"1": request.signing_key},
                             "enrolled": datetime.now(UTC).isoformat(timespec="seconds")}
    body.update(kiosks=kiosks, venues=venues)
    return home.save_document("registry", body)


def write_bundle(home: CountyHome, request: Request, venue: str, venue_name: str, out: Path,
                 broker_host: str, broker_port: int) -> dict[str, dict[str, Any]]:
    """The kiosk's bundle: its TLS certificate and the CA, written to ``out``; returns the
    configuration values for ``out/kiosk.toml`` (the command writes them as TOML)."""
    from cryptography import x509

    kiosk_ca, kiosk_ca_key = home.kiosk_ca()
    public = x509.load_pem_x509_csr(request.csr).public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise RequestError("the kiosk's TLS key is not ECDSA")
    cert = ca.sign_kiosk(kiosk_ca, kiosk_ca_key, request.kiosk, public)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "kiosk-cert.pem", ca.cert_pem(cert))
    # the kiosk checks the broker's server certificate, which the device CA signs
    write_atomic(out / "device-ca.pem", ca.cert_pem(home.ca()[0]))
    values: dict[str, dict[str, Any]] = {
        "kiosk": {"id": request.kiosk, "venue": venue, "venue_name": venue_name or venue,
                  "key_path": "kiosk.key", "key_version": 1, "state_dir": "state",
                  "signing_public_key": request.signing_key},
        "county": {"id": home.county_id, "home_page": home.home_page,
                   "issuer_public_key": home.issuer_public_text},
        "uplink": {"host": broker_host, "port": broker_port, "tls": True, "ca_file": "device-ca.pem",
                   "cert_file": "kiosk-cert.pem", "key_file": "tls.key"},
    }
    return values
