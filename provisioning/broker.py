"""Mosquitto's configuration for a county: a TLS listener that accepts client certificates
of the device CA (gateway, consumers) and of the kiosk CA (kiosks); every client shows a
certificate whose CN is its MQTT user name *and* its client id (``use_identity_as_username``
+ ``use_username_as_clientid``), so no client can take over another's session; the ACL of
``shared/contract/topics.md`` made from the registry, persistence, and queues that never
drop a persistent session's QoS 1 messages. A kiosk with a reserved name (``gateway…``,
``consumer-…``, ``county…``, ``broker…``) never gets an ACL entry.

County consumers (``provisioning/consumers.py``) and gateway processes
(``provisioning/gateways.py``) come from the county home's lists, so every ACL written here
keeps them.

Revoking a kiosk removes it from the ACL; ``broker-config`` rewrites the ACL and Mosquitto
re-reads it on SIGHUP, after which the revoked kiosk may neither publish nor read, even on a
connection that stays open (Mosquitto checks the ACL on every publish and delivery). Its
certificate stays valid until it expires — Mosquitto 2.0 reads a CRL only at restart — but
without an ACL entry it can do nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provisioning.consumers import PREFIX as CONSUMER_PREFIX
from provisioning.consumers import active_names as active_consumers
from provisioning.errors import HomeError
from provisioning.files import write_atomic
from provisioning.gateways import active_names as active_gateways
from provisioning.home import CountyHome
from records.county import KIOSK_ACTIVE, MAX_PACKET
from records.county_pages import COUNTY_PAGE
from records.ids import is_reserved_name

GATEWAY_USER = "gateway"


def acl_text(registry_body: dict[str, Any], consumers: list[str] | None = None,
             gateways: list[str] | None = None) -> str:
    """``gateways``: the CNs of the gateway processes (``provisioning/gateways.py``), each
    with the gateway's rights; by default the first identity only."""
    lines = [
        "# written by `learncard provision broker-config` from the signed registry — do not edit",
        "# shared/contract/topics.md: who may publish and read where",
        "",
    ]
    for gateway in [GATEWAY_USER] if gateways is None else gateways:
        lines += [f"user {gateway}", "topic read lc/v1/+/rec", "topic read lc/v1/+/status",
                  "topic write lc/v1/+/ack", "topic write lc/v1/+/cmd/#", "topic write lc/v1/county/#",
                  # the retained page indexes: which pages the broker holds (gateway/service.py)
                  "topic read lc/v1/county/index/#",
                  "topic write lc/v1/verified/#", ""]
    for kiosk, entry in sorted(registry_body.get("kiosks", {}).items()):
        if entry.get("status") != KIOSK_ACTIVE:
            lines += [f"# {kiosk}: {entry.get('status')} — no rights", ""]
            continue
        if is_reserved_name(kiosk):
            lines += [f"# {kiosk}: a reserved name, never a kiosk — no rights (revoke it)", ""]
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
            "topic read lc/v1/county/registry",  # the kiosks' keys: walk-in slips verify at every kiosk
            # the paged documents (records/county_pages.py): every page of the revocation list
            # and the registry, only its own venue's (and the county's) staff and programme page
            "topic read lc/v1/county/index/revoked-cards",
            "topic read lc/v1/county/revoked-cards/+",
            "topic read lc/v1/county/index/registry",
            "topic read lc/v1/county/registry/+",
            f"topic read lc/v1/county/staff/{entry.get('venue')}",
            f"topic read lc/v1/county/staff/{COUNTY_PAGE}",
            f"topic read lc/v1/county/programme/{entry.get('venue')}",
            f"topic read lc/v1/county/programme/{COUNTY_PAGE}",
            # the venue's shared open check-ins: its own written, its own venue's read (docs/venue-kiosks.md)
            f"topic write lc/v1/venue/{entry.get('venue')}/open/{kiosk}",
            f"topic read lc/v1/venue/{entry.get('venue')}/open/+",
            "",
        ]
    for consumer in consumers or []:
        lines += [f"user {CONSUMER_PREFIX}{consumer}", "topic read lc/v1/verified/#",
                  "topic read lc/v1/county/registry", "topic read lc/v1/county/index/registry",
                  "topic read lc/v1/county/registry/+", "topic read lc/v1/+/status", ""]
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
# a record message, a county document or one of its pages is at most 256 KiB (topics.md;
# records/county_pages.py pages to that size) plus room for the topic and framing
max_packet_size {MAX_PACKET}
# Nagle off on the broker's sockets: a live tap is one small message, and with Nagle on
# its receipt waited ~40 ms behind the previous segment's delayed ACK (measured: p50 40 ms
# → 7.7 ms with this line).
set_tcp_nodelay true

log_dest stderr
log_type error
log_type warning
log_type notice
connection_messages true

listener {port} {address}
cafile {folder / CLIENT_CAS}
certfile {home.path_of('broker/server.pem')}
keyfile {home.path_of('broker/server.key')}
require_certificate true
use_identity_as_username true
# the client id is the certificate's identity, whatever the client asks for: a stolen
# kiosk certificate cannot knock the gateway or another kiosk off the broker
use_username_as_clientid true
tls_version tlsv1.2
allow_anonymous false
acl_file {folder / 'acl'}
"""


def write(home: CountyHome, folder: Path, *, port: int = 8883, address: str = "0.0.0.0",  # noqa: S104 (kiosks connect over the network)
          user: str = "mosquitto") -> tuple[Path, Path]:
    """Write mosquitto.conf and acl into ``folder`` (the ACL from the current registry)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    home.make_kiosk_ca()  # a home made before the kiosk CA existed gets one here
    write_client_cas(home, folder)
    acl = folder / "acl"
    write_atomic(acl, _acl(home))
    conf = folder / "mosquitto.conf"
    write_atomic(conf, mosquitto_conf(home, folder, port, address, user))
    write_atomic(home.path_of(LOCATION), str(folder.resolve()) + "\n")
    return conf, acl


LOCATION = "broker-config.location"  # in the home: where broker-config last wrote
CLIENT_CAS = "client-cas.pem"


def write_client_cas(home: CountyHome, folder: Path) -> Path:
    """The CAs whose client certificates the broker accepts: the device CA (county identities
    and, in homes made before the kiosk CA, their existing kiosks) and the kiosk CA."""
    try:
        text = home.path_of("device-ca.pem").read_text() + home.path_of("kiosk-ca.pem").read_text()
    except OSError as err:
        raise HomeError(f"the CA certificates cannot be read: {err}") from err
    path = folder / CLIENT_CAS
    write_atomic(path, text)
    return path


def _acl(home: CountyHome) -> str:
    return acl_text(home.load_document("registry").body, active_consumers(home), active_gateways(home))


def refresh_acl(home: CountyHome) -> Path | None:
    """Rewrite the ACL where broker-config last wrote one; None if it never ran."""
    try:
        folder = Path(home.path_of(LOCATION).read_text().strip())
    except FileNotFoundError:
        return None
    acl = folder / "acl"
    if not (folder / "mosquitto.conf").exists():
        return None
    write_atomic(acl, _acl(home))
    return acl
