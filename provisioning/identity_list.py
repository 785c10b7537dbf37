"""The county home's lists of its own broker identities (consumers, gateway processes): a
JSON file of entries by name, each with its status, certificate serial and dates. The
broker's ACL is made from the active ones (``provisioning/broker.py``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from cryptography import x509

from provisioning.errors import RegistryError
from provisioning.files import write_atomic
from provisioning.home import CountyHome

ACTIVE, REVOKED = "active", "revoked"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def load(home: CountyHome, file: str, key: str) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(home.path_of(file).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise RegistryError(f"{home.path_of(file)} cannot be read: {err}") from err
    return dict(data.get(key, {}))


def save(home: CountyHome, file: str, key: str, rows: dict[str, dict[str, Any]]) -> None:
    write_atomic(home.path_of(file), json.dumps({key: rows}, ensure_ascii=False, indent=2) + "\n")


def issued(cn: str, cert: x509.Certificate, **more: str) -> dict[str, Any]:
    """A new active entry for the certificate just issued."""
    return {"status": ACTIVE, "cn": cn, "serial": format(cert.serial_number, "x"), "issued": _now(),
            "expires": cert.not_valid_after_utc.isoformat(timespec="seconds"), **more}


def revoke(home: CountyHome, file: str, key: str, rows: dict[str, dict[str, Any]], name: str, reason: str,
           missing: str) -> dict[str, Any]:
    """Mark ``name`` in ``rows`` (the list as loaded) revoked and save; ``missing`` is the error
    when there is no such name."""
    if name not in rows:
        raise RegistryError(missing)
    rows[name] = {**rows[name], "status": REVOKED, "reason": reason, "revoked": _now()}
    save(home, file, key, rows)
    return {"name": name, **rows[name]}
