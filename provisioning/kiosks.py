"""Kiosks in the registry: revoke, rekey, list, show (each change a new signed version)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from provisioning.enroll import Request
from provisioning.errors import RegistryError
from provisioning.home import CountyHome
from records.county import KIOSK_ACTIVE, KIOSK_REVOKED, Document


def _kiosk(body: dict[str, Any], kiosk: str) -> dict[str, Any]:
    entry = body.get("kiosks", {}).get(kiosk)
    if entry is None:
        raise RegistryError(f"kiosk {kiosk!r} is not in the registry")
    return dict(entry)


def revoke(home: CountyHome, kiosk: str, reason: str) -> Document:
    body = dict(home.load_document("registry").body)
    entry = _kiosk(body, kiosk)
    if entry["status"] == KIOSK_REVOKED:
        raise RegistryError(f"kiosk {kiosk!r} is revoked already")
    entry.update(status=KIOSK_REVOKED, revoked=datetime.now(UTC).isoformat(timespec="seconds"),
                 reason=reason)
    body["kiosks"] = {**body["kiosks"], kiosk: entry}
    return home.save_document("registry", body)


def rekey(home: CountyHome, request: Request) -> tuple[Document, int]:
    """Add a new key version from a fresh request; older versions stay (old records verify)."""
    body = dict(home.load_document("registry").body)
    entry = _kiosk(body, request.kiosk)
    if entry["status"] != KIOSK_ACTIVE:
        raise RegistryError(f"kiosk {request.kiosk!r} is revoked: enrol it anew under a new id")
    versions = {int(v) for v in entry["keys"]}
    if request.signing_key in entry["keys"].values():
        raise RegistryError("this signing key is in the registry already")
    version = max(versions) + 1
    entry["keys"] = {**entry["keys"], str(version): request.signing_key}
    body["kiosks"] = {**body["kiosks"], request.kiosk: entry}
    return home.save_document("registry", body), version


def listing(home: CountyHome) -> list[dict[str, Any]]:
    body = home.load_document("registry").body
    return [{"kiosk": k, "venue": e["venue"], "level": e.get("level"), "status": e["status"],
             "key_versions": sorted(int(v) for v in e["keys"])}
            for k, e in sorted(body.get("kiosks", {}).items())]


def show(home: CountyHome, kiosk: str) -> dict[str, Any]:
    doc = home.load_document("registry")
    entry = _kiosk(doc.body, kiosk)
    venue = doc.body.get("venues", {}).get(entry["venue"], {})
    return {"kiosk": kiosk, **entry, "venue_name": venue.get("name"), "registry_version": doc.version}
