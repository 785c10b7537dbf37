"""paho's MQTT 5 property tables shared between instances (learncard.mqtt): the same
attributes as paho builds them, for every packet type, and properties still packed and read
back as before."""

from __future__ import annotations

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import MQTTException, Properties

from learncard.mqtt import PROPERTY_TABLES


def paho_own(packet_type: int) -> Properties:
    made = object.__new__(Properties)
    Properties._learncard_paho_init(made, packet_type)  # type: ignore[attr-defined]
    return made


def test_every_packet_type_gets_paho_own_tables() -> None:
    assert Properties._learncard_shared_tables  # type: ignore[attr-defined]
    for packet_type in range(PacketTypes.indexes[0], PacketTypes.indexes[-1] + 1):
        shared, own = Properties(packet_type), paho_own(packet_type)
        assert vars(own) == vars(shared)
        assert {"packetType", *PROPERTY_TABLES} == set(vars(shared))


def test_properties_pack_and_read_back_as_before() -> None:
    for make in (Properties, paho_own):
        props = make(PacketTypes.PUBLISH)
        props.CorrelationData = b"boot/123"
        props.UserProperty = [("a", "b")]
        back = make(PacketTypes.PUBLISH)
        back.unpack(props.pack())
        assert (b"boot/123", [("a", "b")]) == (back.CorrelationData, back.UserProperty)
        connect = make(PacketTypes.CONNECT)
        try:
            connect.CorrelationData = b"x"  # paho's check that a property fits the packet type
        except MQTTException:
            pass
        else:
            raise AssertionError("a PUBLISH property was accepted on CONNECT")
