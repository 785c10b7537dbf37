"""The county's own record signers: keys the registry names for one purpose.

A county signer signs records that are chained and stored like a kiosk's (the gateway verifies
them with the registry), but speaks for the county: ``county-corrections`` (purpose
``corrections``) signs the county's voids and amendments (``learncard gateway correct``). Its id
starts with ``county``, a name no kiosk may take. Its private key is made here, in the county
home's ``gateway/`` folder, and kept with the gateway (docs/county-keys.md).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from provisioning.errors import RegistryError
from provisioning.files import write_secret
from provisioning.home import CountyHome
from records import keys
from records.county import KIOSK_ACTIVE, SIGNER_PREFIX, Document
from records.ids import is_valid_name

PURPOSES = ("corrections", "statements")  # statements: the signed summary on a 学习证明


def key_path(home: CountyHome, signer: str) -> Path:
    return home.path / "gateway" / f"{signer}.key"


def add(home: CountyHome, signer: str, purpose: str) -> tuple[Document, int, Path]:
    """Make a signing key for ``signer`` (a new key version if it has one) and name it in the
    registry. Returns the registry, the key version and where the private key is."""
    if purpose not in PURPOSES:
        raise RegistryError(f"purpose {purpose!r}: one of {', '.join(PURPOSES)}")
    if not (is_valid_name(signer) and signer.startswith(SIGNER_PREFIX)):
        raise RegistryError(f"signer id {signer!r} must match [a-z0-9-]{{3,40}} and start with "
                            f"{SIGNER_PREFIX!r} (a name no kiosk may take)")
    body = dict(home.load_document("registry").body)
    if signer in body.get("kiosks", {}):
        raise RegistryError(f"{signer!r} is a kiosk of the registry: a county signer needs a name of its own")
    entry = dict(body.get("signers", {}).get(signer, {"purpose": purpose, "status": KIOSK_ACTIVE, "keys": {}}))
    if entry["purpose"] != purpose:
        raise RegistryError(f"{signer!r} signs for {entry['purpose']!r}, not {purpose!r}")
    key = keys.private_key_from_seed(os.urandom(32))
    version = 1 + max((int(v) for v in entry["keys"]), default=0)
    entry["keys"] = {**entry["keys"], str(version): keys.public_key_text(key)}
    entry["added"] = datetime.now(UTC).isoformat(timespec="seconds")
    path = key_path(home, signer)
    if path.exists():
        path.replace(path.with_name(f"{signer}.key.v{version - 1}"))  # older records still verify
    write_secret(path, keys.private_key_to_pem(key))
    body["signers"] = {**body.get("signers", {}), signer: entry}
    return home.save_document("registry", body), version, path
