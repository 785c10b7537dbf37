"""MQTT clients as both programs make them: paho 2.x, MQTT 5, TLS with a client
certificate when configured, a persistent session."""

from __future__ import annotations

import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

SESSION_EXPIRY_S = 7 * 24 * 3600


def mqtt_client(section: dict[str, object], client_id: str) -> mqtt.Client:
    """A paho client (MQTT 5) with TLS and client certificate when configured."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if section.get("tls"):
        context = ssl.create_default_context(cafile=str(section["ca_file"]) or None)
        if section.get("cert_file"):
            context.load_cert_chain(str(section["cert_file"]), str(section["key_file"]))
        client.tls_set_context(context)
    if section.get("username"):
        client.username_pw_set(str(section["username"]), str(section.get("password") or "") or None)
    client.reconnect_delay_set(1, 30)
    return client


def connect_persistent(client: mqtt.Client, host: str, port: int, *, receive_maximum: int = 0) -> None:
    """Connect in the background; ``receive_maximum`` (MQTT 5) caps the QoS 1 messages the
    broker sends before this client has acknowledged them (0: the protocol's default)."""
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = SESSION_EXPIRY_S
    if receive_maximum:
        props.ReceiveMaximum = receive_maximum
    client.connect_async(host, port, keepalive=30, clean_start=False, properties=props)
