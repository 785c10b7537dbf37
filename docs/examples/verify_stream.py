"""Verify LearnCard records from the verified stream with a standard JOSE library.

    pip install paho-mqtt jwcrypto
    python verify_stream.py --host mqtt.county.example --port 8883 --ca device-ca.pem \
        --cert consumer.pem --key consumer.key

It keeps the county's retained registry (lc/v1/county/registry), checks that registry's
signature with the county issuer key you configured out of band, and verifies every record
on lc/v1/verified/# with the kiosk's public key from the registry (kid = "<kiosk>/<version>").
"""

from __future__ import annotations

import argparse
import json
import ssl

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
    """The CloudEvent of a record, if its kiosk (active in the registry) signed it."""
    signed = jws.JWS()
    signed.deserialize(token)
    kiosk, version = signed.jose_header["kid"].split("/")
    entry = registry["kiosks"][kiosk]
    if entry["status"] != "active":
        raise ValueError(f"kiosk {kiosk} is {entry['status']}")
    signed.verify(jwk.JWK(kty="OKP", crv="Ed25519", x=entry["keys"][version]))
    event = json.loads(signed.payload)
    if event["source"] != f"urn:learncard:kiosk:{kiosk}":
        raise ValueError("the record names another kiosk than its signer")
    return event


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
            event = verify_record(line, registry)
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
