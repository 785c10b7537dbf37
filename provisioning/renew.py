"""Renewing a kiosk's TLS certificate before it expires (five years; the kiosk warns staff
60 days ahead). The kiosk keeps both its keys: it signs a request in the enrolment format
with the signing key the registry already holds, carrying a CSR made with the TLS key it
already has (``learncard kiosk renew-request``); county IT checks that the request's key is
the kiosk's registered, active key and writes a new bundle with a new certificate for the
same TLS key (``learncard provision renew``), which ``learncard kiosk install-bundle``
places. The registry does not change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provisioning import ca
from provisioning.enroll import Request, check_kiosk_id, request_token, write_bundle
from provisioning.errors import RegistryError
from provisioning.files import write_atomic
from provisioning.home import CountyHome
from records.county import KIOSK_ACTIVE


def make_request(folder: Path, kiosk: str, signing: Ed25519PrivateKey, tls_key_pem: bytes) -> Path:
    """On the kiosk: the renewal request, signed with the kiosk's current signing key."""
    check_kiosk_id(kiosk)
    path = folder / "renew-request.jws"
    write_atomic(path, request_token(kiosk, signing, ca.load_key(tls_key_pem)) + "\n")
    return path


def renew(home: CountyHome, request: Request, out: Path, broker_host: str,
          broker_port: int) -> dict[str, dict[str, Any]]:
    """Check the request against the registry and write the new bundle into ``out``;
    returns its configuration values (``kiosk.toml``)."""
    body = home.load_document("registry").body
    entry = body.get("kiosks", {}).get(request.kiosk)
    if entry is None:
        raise RegistryError(f"kiosk {request.kiosk!r} is not enrolled: enrol it (`provision enroll`)")
    if entry.get("status") != KIOSK_ACTIVE:
        raise RegistryError(f"kiosk {request.kiosk!r} is {entry.get('status')}: a revoked kiosk gets no certificate")
    versions = {key: int(version) for version, key in entry["keys"].items()}
    if request.signing_key not in versions:
        raise RegistryError(f"the request is signed by a key the registry does not hold for {request.kiosk!r}: "
                            "only the enrolled kiosk itself can ask for its certificate")
    venue = entry["venue"]
    venue_name = body.get("venues", {}).get(venue, {}).get("name", venue)
    values = write_bundle(home, request, venue, venue_name, out, broker_host, broker_port)
    values["kiosk"]["key_version"] = versions[request.signing_key]
    return values
