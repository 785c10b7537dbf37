"""Gateway processes on the broker: one client certificate per process. The broker ties each
client id to its certificate's CN (``use_username_as_clientid``), so N processes of one tier
(``docs/scale.md``) need N identities, or each would take over the others' session instead of
sharing ``$share/…``. The home's first identity is ``gateway`` (``gateway/gateway.pem``,
made by ``provision init``); more are ``gateway-<name>``, issued here by the device CA (never
the kiosk CA, which refuses every ``gateway…`` name), each with its key (0600), certificate
and ``gateway/<cn>.toml`` beside the first one's files.

The list lives in the county home (``gateways.json``), so ``broker-config``, ``revoke`` and
every other ACL rewrite give each active identity the gateway's rights. Revoking one drops
its ACL entry: after the broker re-reads the ACL (SIGHUP) it may neither read nor write, even
on an open connection, like a revoked kiosk. Its certificate stays valid until it expires
(Mosquitto 2.0 reads a CRL only at restart), so a revoked name is never issued again.
"""

from __future__ import annotations

import tomllib
from typing import Any

from provisioning import ca, identity_list
from provisioning.errors import RegistryError, RequestError
from provisioning.files import write_atomic, write_secret
from provisioning.home import CountyHome
from provisioning.identity_list import ACTIVE, issued, load, save
from records.ids import is_valid_name

FIRST = "gateway"  # the identity `provision init` makes
PREFIX = "gateway-"
FILE = "gateways.json"


def _load(home: CountyHome) -> dict[str, dict[str, Any]]:
    return load(home, FILE, "gateways")


def listing(home: CountyHome) -> dict[str, dict[str, Any]]:
    """Every gateway identity: the first one (unless revoked, as made by init) and each added."""
    rows = _load(home)
    if FIRST not in rows:
        rows = {FIRST: {"status": ACTIVE, "cn": FIRST, "folder": str(home.path_of("gateway").resolve())}, **rows}
    return rows


def active_names(home: CountyHome) -> list[str]:
    """The CNs the ACL gives the gateway's rights."""
    return sorted(cn for cn, entry in listing(home).items() if entry.get("status") == ACTIVE)


def _check_name(cn: str) -> None:
    if not (cn.startswith(PREFIX) and is_valid_name(cn) and len(cn) > len(PREFIX)):
        raise RequestError(f"网关名称不合规 / gateway identity {cn!r} must be gateway-<name>, "
                           "matching [a-z0-9-]{3,40} as a whole (e.g. gateway-2)")


def add(home: CountyHome, cn: str, broker_host: str | None = None, broker_port: int | None = None
        ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Issue ``cn``'s key and certificate into ``gateway/``; return its entry and the values
    of its gateway.toml (the first gateway's configuration with this identity)."""
    _check_name(cn)
    rows = _load(home)
    if cn in rows:
        raise RegistryError(f"网关身份已存在或已吊销 / gateway identity {cn!r} was issued before "
                            f"({rows[cn]['status']}): a revoked certificate stays valid until it expires, "
                            "so its name is never issued again; choose a new name")
    if cn in home.load_document("registry").body.get("kiosks", {}):
        # a home from before reserved names and the kiosk CA: that kiosk's certificate (from
        # the device CA) carries this CN, and would get the gateway's rights
        raise RegistryError(f"有自助机使用此名称 / a kiosk in the registry is named {cn!r}: its "
                            "certificate carries this name; choose another name")
    folder = home.path_of("gateway")
    ca_cert, ca_key = home.ca()
    key = ca.new_key()
    write_secret(folder / f"{cn}.key", ca.key_pem(key))
    cert = ca.sign_leaf(ca_cert, ca_key, cn, key.public_key())
    write_atomic(folder / f"{cn}.pem", ca.cert_pem(cert))
    rows[cn] = issued(cn, cert, folder=str(folder.resolve()), config=str((folder / f"{cn}.toml").resolve()))
    save(home, FILE, "gateways", rows)
    return {"name": cn, **rows[cn]}, config_values(home, cn, broker_host, broker_port)


def config_values(home: CountyHome, cn: str, broker_host: str | None, broker_port: int | None
                  ) -> dict[str, dict[str, Any]]:
    """The first gateway's gateway.toml (its store, LRS and broker) with ``cn``'s identity."""
    try:
        values: dict[str, dict[str, Any]] = tomllib.loads(home.path_of("gateway/gateway.toml").read_text())
    except FileNotFoundError:
        values = home.gateway_values(broker_host or "localhost", broker_port or 8883)
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise RegistryError(f"gateway/gateway.toml cannot be read: {err}") from err
    values.setdefault("gateway", {})["client_id"] = cn
    b = values.setdefault("broker", {})
    b.update({"tls": True, "cert_file": f"{cn}.pem", "key_file": f"{cn}.key"})
    b.setdefault("ca_file", "../device-ca.pem")
    if broker_host:
        b["host"] = broker_host
    if broker_port:
        b["port"] = broker_port
    return values


def revoke(home: CountyHome, cn: str, reason: str) -> dict[str, Any]:
    return identity_list.revoke(home, FILE, "gateways", listing(home), cn, reason,
                                f"没有此网关身份 / no gateway identity {cn!r}: `learncard provision gateways list` "
                                "shows them")
