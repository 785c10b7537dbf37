"""Verify LearnCard records from the verified stream with a standard JOSE library.

    pip install paho-mqtt jwcrypto
    python verify_stream.py --host mqtt.county.example --port 8883 \
        --ca device-ca.pem --cert consumer.pem --key consumer.key \
        --issuer-key "$(cat keys/issuer.pub)" --county county-3301

The certificate and key come from `learncard provision consumers add NAME` (CN
consumer-NAME; files in <county home>/consumers/NAME/); the issuer key is the county home's
keys/issuer.pub (public), the county id its county.toml's `county`.

It keeps the county's retained registry (lc/v1/county/registry), checks that registry's
signature with the county issuer key you configured out of band, and verifies every record
on lc/v1/verified/# with the kiosk's public key from the registry (kid = "<kiosk>/<version>").

A revoked kiosk's records made before its revocation stay valid (docs/county-keys.md): the
registry keeps its keys and the time it was revoked. The record's time is the kiosk's own
claim, so a thief holding the key could backdate; the gateway refuses a revoked kiosk's
records once it reloads the registry, so what comes on the verified stream from a revoked
kiosk was committed before that.
"""

from __future__ import annotations

import argparse
import json
import ssl
from datetime import datetime

from jwcrypto import jwk, jws


def verify_registry(token: str, issuer_x: str, county: str) -> dict:
    """The registry body, if the county issuer key (base64url Ed25519) signed it."""
    signed = jws.JWS()
    signed.deserialize(token)
    signed.verify(jwk.JWK(kty="OKP", crv="Ed25519", x=issuer_x))
    payload = json.loads(signed.payload)
    if payload["kind"] != "registry" or payload["county"] != county:
        raise ValueError("not this county's registry")
    return payload["body"]


def verify_record(token: str, registry: dict) -> dict:
    """The CloudEvent of a record, if its kiosk signed it while active in the registry."""
    signed = jws.JWS()
    signed.deserialize(token)
    kiosk, version = signed.jose_header["kid"].split("/")
    entry = registry["kiosks"][kiosk]
    signed.verify(jwk.JWK(kty="OKP", crv="Ed25519", x=entry["keys"][version]))
    event = json.loads(signed.payload)
    if event["source"] != f"urn:learncard:kiosk:{kiosk}":
        raise ValueError("the record names another kiosk than its signer")
    if entry["status"] != "active":
        revoked = entry.get("revoked")
        if revoked is None or _instant(event["time"]) >= _instant(revoked):
            raise ValueError(f"kiosk {kiosk} is {entry['status']} (since {revoked}): record made after that")
    return event


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def main() -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("--host", "--ca", "--cert", "--key", "--issuer-key", "--county"):
        parser.add_argument(name, required=True)
    parser.add_argument("--port", type=int, default=8883)
    args = parser.parse_args()
    registry: dict = {}

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        nonlocal registry
        if message.topic == "lc/v1/county/registry":
            registry = verify_registry(message.payload.decode(), args.issuer_key, args.county)
            return
        for line in message.payload.decode().splitlines():
            try:
                event = verify_record(line, registry)
            except Exception as err:  # noqa: BLE001 - any failure: say so, keep listening
                print("REFUSED", message.topic, err)
                continue
            print(event["type"], event["id"], event["data"])

    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    context = ssl.create_default_context(cafile=args.ca)
    context.load_cert_chain(args.cert, args.key)
    client.tls_set_context(context)
    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe([("lc/v1/county/registry", 1), ("lc/v1/verified/#", 1)])
    client.connect(args.host, args.port)
    client.loop_forever()


if __name__ == "__main__":
    main()
