"""Mosquitto's configuration for a county: a TLS listener with the device CA (every client
shows a certificate; its CN is its MQTT user name), the ACL of
``shared/contract/topics.md`` made from the registry, persistence, and queues that never
drop a persistent session's QoS 1 messages.

Revoking a kiosk removes it from the ACL; ``broker-config`` rewrites the ACL and Mosquitto
re-reads it on SIGHUP, after which the revoked kiosk may neither publish nor read, even on a
connection that stays open (Mosquitto checks the ACL on every publish and delivery). Its
certificate stays valid until it expires — Mosquitto 2.0 reads a CRL only at restart — but
without an ACL entry it can do nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provisioning.files import write_atomic
from provisioning.home import CountyHome
from records.county import KIOSK_ACTIVE

GATEWAY_USER = "gateway"
CONSUMER_PREFIX = "consumer-"


def acl_text(registry_body: dict[str, Any], consumers: list[str] | None = None) -> str:
    lines = [
        "# written by `learncard provision broker-config` from the signed registry — do not edit",
        "# shared/contract/topics.md: who may publish and read where",
        "",
        f"user {GATEWAY_USER}",
        "topic read lc/v1/+/rec",
        "topic read lc/v1/+/status",
        "topic write lc/v1/+/ack",
        "topic write lc/v1/+/cmd/#",
        "topic write lc/v1/county/#",
        "topic write lc/v1/verified/#",
        "",
    ]
    for kiosk, entry in sorted(registry_body.get("kiosks", {}).items()):
        if entry.get("status") != KIOSK_ACTIVE:
            lines += [f"# {kiosk}: {entry.get('status')} — no rights", ""]
            continue
        lines += [
            f"user {kiosk}",
            f"topic write lc/v1/{kiosk}/rec",
            f"topic write lc/v1/{kiosk}/status",
            f"topic read lc/v1/{kiosk}/ack",
            f"topic read lc/v1/{kiosk}/cmd/#",
            "topic read lc/v1/county/revoked-cards",
            "topic read lc/v1/county/staff",
            "topic read lc/v1/county/programme",
            "topic read lc/v1/county/credit-rules",
            "",
        ]
    for consumer in consumers or []:
        lines += [f"user {CONSUMER_PREFIX}{consumer}", "topic read lc/v1/verified/#",
                  "topic read lc/v1/county/registry", "topic read lc/v1/+/status", ""]
    return "\n".join(lines)


def mosquitto_conf(home: CountyHome, folder: Path, port: int, address: str, user: str) -> str:
    return f"""# written by `learncard provision broker-config` for county {home.county_id}
per_listener_settings false
user {user}

# Persistence. A PUBACK is not durability: the kiosk keeps every record until the
# gateway's receipt says it is committed; the broker's snapshot only saves queued work.
persistence true
persistence_location {folder / 'data'}/
autosave_interval 60

# Never drop a persistent session's QoS 1 messages: the default (1000 per client) drops
# silently past the limit. 0 = no limit; the kiosk's in-flight window bounds its side.
max_queued_messages 0
max_queued_bytes 0
persistent_client_expiration 60d
# a record message is at most 256 KiB (topics.md) plus room for the topic and framing
max_packet_size 270000

log_dest stderr
log_type error
log_type warning
log_type notice
connection_messages true

listener {port} {address}
cafile {home.path_of('device-ca.pem')}
certfile {home.path_of('broker/server.pem')}
keyfile {home.path_of('broker/server.key')}
require_certificate true
use_identity_as_username true
tls_version tlsv1.2
allow_anonymous false
acl_file {folder / 'acl'}
"""


def write(home: CountyHome, folder: Path, *, port: int = 8883, address: str = "0.0.0.0",  # noqa: S104 (kiosks connect over the network)
          user: str = "mosquitto") -> tuple[Path, Path]:
    """Write mosquitto.conf and acl into ``folder`` (the ACL from the current registry)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    acl = folder / "acl"
    write_atomic(acl, acl_text(home.load_document("registry").body))
    conf = folder / "mosquitto.conf"
    write_atomic(conf, mosquitto_conf(home, folder, port, address, user))
    write_atomic(home.path_of(LOCATION), str(folder.resolve()) + "\n")
    return conf, acl


LOCATION = "broker-config.location"  # in the home: where broker-config last wrote


def refresh_acl(home: CountyHome) -> Path | None:
    """Rewrite the ACL where broker-config last wrote one; None if it never ran."""
    try:
        folder = Path(home.path_of(LOCATION).read_text().strip())
    except FileNotFoundError:
        return None
    acl = folder / "acl"
    if not (folder / "mosquitto.conf").exists():
        return None
    write_atomic(acl, acl_text(home.load_document("registry").body))
    return acl
