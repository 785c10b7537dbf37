"""Settings of the county gateway."""

from __future__ import annotations

from learncard.config import Key

SECTIONS: dict[str, dict[str, Key]] = {
    "gateway": {
        "county": Key(None, required=True, help="county id"),
        "issuer_public_key": Key(None, required=True, help="county issuer key, base64url"),
        "registry": Key("registry.jws", "path"),
        "revoked_cards": Key("revoked-cards.jws", "path"),
        "staff": Key("staff.jws", "path"),
        "share_group": Key("gateways"),
        "client_id": Key("gateway-1"),
        "metrics_port": Key(9464, "int"),
        "metrics_host": Key("127.0.0.1"),
    },
    "broker": {
        "host": Key("localhost"),
        "port": Key(1883, "int"),
        "tls": Key(False, "bool"),
        "ca_file": Key("", "path"),
        "cert_file": Key("", "path"),
        "key_file": Key("", "path"),
        "username": Key(""),
        "password": Key("", "secret"),
    },
    "store": {
        "url": Key("sqlite:///var/lib/learncard/gateway.sqlite3",
                   help="sqlite:///path or postgresql://..."),
    },
    "lrs": {
        "enabled": Key(False, "bool"),
        "endpoint": Key("", help="the LRS's xAPI endpoint, e.g. http://lrs/data/xAPI"),
        "username": Key(""),
        "password": Key("", "secret"),
        "version": Key("1.0.3", help="1.0.3 or 2.0.0"),
        "batch_size": Key(100, "int"),
        "home_page": Key("", help="county home page IRI for actors and activities"),
    },
}

REQUIRED = ("gateway",)
