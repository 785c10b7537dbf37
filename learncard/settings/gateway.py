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
        "sun_master_key": Key("", "path", help="file with the county's NTAG 424 DNA SDM master key (32 hex "
                              "digits); empty: SUN messages are not checked"),
        "programme": Key("programme.jws", "path", help="the county's programme (课程表); may be missing"),
        "credit_rules": Key("credit-rules.jws", "path", help="the county's credit rules (学时规则); may be missing"),
        "corrections_key": Key("county-corrections.key", "path",
                               help="the county corrections signer's private key (learncard provision signer); "
                               "used by `gateway correct`"),
        "pair_every_seconds": Key(30, "int", help="how often unpaired check-outs are paired across a venue's "
                                  "kiosks (needs corrections_key; 0: only by `gateway pair`)"),
        "statements_key": Key("county-statements.key", "path",
                              help="the county statements signer's private key (learncard provision signer "
                              "--purpose statements); signs the QR summary of `gateway learner statement`"),
        "share_group": Key("gateways"),
        # the broker ties client ids to certificate identities (use_username_as_clientid):
        # the gateway's is its certificate's CN, "gateway"
        "client_id": Key("gateway", help="MQTT client id: the gateway certificate's identity"),
        "metrics_port": Key(9464, "int"),
        "metrics_host": Key("127.0.0.1"),
        "receive_maximum": Key(32, "int", help="MQTT 5 Receive Maximum: QoS 1 messages the broker may have "
                               "in flight to this gateway"),
        "inbox_max_messages": Key(256, "int", help="messages waiting for the worker, all kiosks together"),
        "inbox_max_bytes": Key(32 * 1024 * 1024, "int", help="bytes waiting for the worker, all kiosks together"),
        "inbox_kiosk_messages": Key(16, "int", help="messages waiting per kiosk; more are shed (re-sent later)"),
        "inbox_kiosk_bytes": Key(4 * 1024 * 1024, "int", help="bytes waiting per kiosk"),
        "status_max_bytes": Key(4096, "int", help="a kiosk status larger than this is not stored"),
        "error_receipts_per_minute": Key(60, "int", help="error receipts per kiosk per minute, at most"),
        "error_receipts_burst": Key(5, "int", help="error receipts a kiosk may get at once"),
        "gap_grace_seconds": Key(5, "int", help="a hole in a kiosk's chain is asked for again only once it is "
                                 "this old (with several gateway processes it may be in flight at another)"),
        "lock_file": Key("", "path", help="single-instance lock; empty: beside a SQLite store, "
                         "else /run/learncard/gateway-<client_id>.lock"),
        "max_seq_ahead": Key(10_000, "int", help="a verified record further than this past the chain's "
                             "settled position is refused (seq-too-far)"),
        "max_refused_per_kiosk": Key(10_000, "int", help="refused lines kept per kiosk (each once); "
                                     "beyond, they are counted, not kept"),
        "county_poll_seconds": Key(3, "int", help="how often to look whether a county file changed (0: never)"),
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
    # bounds for holding implausible records (gateway/plausibility.py): the first two only while
    # the county has published no credit-rules document (its rules are the bounds otherwise)
    "plausibility": {
        "max_session_minutes": Key(240, "int", help="most minutes one check-out or manual attendance may credit"),
        "max_day_minutes": Key(600, "int", help="most minutes a learner may be credited in one day"),
        "presence_slack_minutes": Key(30, "int", help="credited minutes may pass time present by this much"),
    },
    "store": {
        "url": Key("sqlite:///var/lib/learncard/gateway.sqlite3",
                   help="sqlite:///path or postgresql://..."),
        "report_url": Key("", help="a read replica (postgresql://...) for reports and exports; "
                          "empty: the store itself"),
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
