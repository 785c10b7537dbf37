"""County systems on the broker (statistics, archives, a county data platform): each is a
*consumer* with a client certificate from the county's device CA whose CN is
``consumer-<name>``, and rights to read the verified stream, the registry and kiosk status —
nothing else (``shared/contract/topics.md``).

The list lives in the county home (``consumers.json``), so ``broker-config``, ``revoke`` and
every other ACL rewrite keep the active consumers. Revoking a consumer drops its ACL entry:
after the broker re-reads the ACL (SIGHUP) it can read nothing, even on an open connection.
Its certificate stays valid until it expires (Mosquitto 2.0 reads a CRL only at restart),
like a revoked kiosk's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography import x509

from provisioning import ca, identity_list
from provisioning.errors import RegistryError, RequestError
from provisioning.files import write_atomic, write_secret
from provisioning.home import CountyHome
from provisioning.identity_list import ACTIVE, REVOKED, issued, load, save
from records.ids import is_valid_name

PREFIX = "consumer-"
FILE = "consumers.json"
__all__ = ["ACTIVE", "PREFIX", "REVOKED", "active_names", "add", "listing", "revoke"]


def _load(home: CountyHome) -> dict[str, dict[str, Any]]:
    return load(home, FILE, "consumers")


def _save(home: CountyHome, consumers: dict[str, dict[str, Any]]) -> None:
    save(home, FILE, "consumers", consumers)


def listing(home: CountyHome) -> dict[str, dict[str, Any]]:
    """Every consumer ever added, with its status, certificate serial and dates."""
    return _load(home)


def active_names(home: CountyHome) -> list[str]:
    """The names (without the prefix) of consumers the ACL must let read."""
    return sorted(name for name, entry in _load(home).items() if entry.get("status") == ACTIVE)


def add(home: CountyHome, name: str, out_dir: Path, csr_pem: bytes | None = None) -> dict[str, Any]:
    """Issue ``consumer-<name>``'s certificate. With a CSR the consumer keeps its own key;
    without one a key is made here and written next to the certificate (mode 0600)."""
    if not is_valid_name(name):
        raise RequestError(f"消费者名称不合规 / consumer name {name!r} must match [a-z0-9-]{{3,40}}")
    consumers = _load(home)
    if consumers.get(name, {}).get("status") == ACTIVE:
        raise RegistryError(f"消费者已存在，请先吊销 / consumer {name!r} exists already: revoke it first "
                            "to issue a new certificate")
    cn = PREFIX + name
    ca_cert, ca_key = home.ca()
    if csr_pem is None:
        key = ca.new_key()
        write_secret(out_dir / "consumer.key", ca.key_pem(key))
        public_key = key.public_key()
    else:
        public_key = ca.check_csr(csr_pem, cn).public_key()  # type: ignore[assignment]
    cert: x509.Certificate = ca.sign_leaf(ca_cert, ca_key, cn, public_key)  # type: ignore[arg-type]
    write_atomic(out_dir / "consumer.pem", ca.cert_pem(cert))
    write_atomic(out_dir / "device-ca.pem", ca.cert_pem(ca_cert))
    entry = issued(cn, cert, folder=str(out_dir.resolve()))
    consumers[name] = entry
    _save(home, consumers)
    return {"name": name, **entry}


def revoke(home: CountyHome, name: str, reason: str) -> dict[str, Any]:
    return identity_list.revoke(home, FILE, "consumers", _load(home), name, reason,
                                f"没有此消费者 / no consumer {name!r}: `learncard provision consumers list` shows them")
