"""The one NDEF record that carries a card credential, and the Type 2 tag TLV around it.

An NFC Forum external-type record (TNF 4) whose type is :data:`CARD_RECORD_TYPE`
(7 bytes, the most ``shared/contract/card.md`` allows). Written by hand because
``records`` stays free of I/O libraries; the tests decode it with ``ndeflib``.
"""

from __future__ import annotations

from records.errors import MalformedCredential

CARD_RECORD_TYPE = b"lcard:1"  # NFC Forum external type "lcard:1"
TNF_EXTERNAL = 0x04
_MB, _ME, _SR = 0x80, 0x40, 0x10
NTAG213_BYTES = 144
NTAG215_BYTES = 496
NTAG216_BYTES = 872


def encode_message(payload: bytes) -> bytes:
    """An NDEF message of one external-type record holding ``payload``."""
    header = _MB | _ME | TNF_EXTERNAL
    if len(payload) < 256:
        header |= _SR
        length = bytes([len(payload)])
    else:
        length = len(payload).to_bytes(4, "big")
    return bytes([header, len(CARD_RECORD_TYPE)]) + length + CARD_RECORD_TYPE + payload


def decode_message(message: bytes) -> bytes:
    """The credential bytes from an NDEF message; the first LearnCard record wins."""
    pos = 0
    found_other = False
    while pos < len(message):
        try:
            header = message[pos]
            type_len = message[pos + 1]
            pos += 2
            if header & _SR:
                payload_len = message[pos]
                pos += 1
            else:
                payload_len = int.from_bytes(message[pos : pos + 4], "big")
                pos += 4
            id_len = 0
            if header & 0x08:
                id_len = message[pos]
                pos += 1
        except IndexError as err:
            raise MalformedCredential(
                "NDEF 记录被截断 / the NDEF message is truncated", reason="truncated"
            ) from err
        rtype = message[pos : pos + type_len]
        pos += type_len + id_len
        payload = message[pos : pos + payload_len]
        if len(payload) != payload_len or len(rtype) != type_len:
            raise MalformedCredential(
                "NDEF 记录被截断 / the NDEF message is truncated", reason="truncated"
            )
        pos += payload_len
        if header & 0x07 == TNF_EXTERNAL and rtype == CARD_RECORD_TYPE:
            return payload
        found_other = True
        if header & _ME:
            break
    if found_other:
        raise MalformedCredential(
            "这张卡上不是学习卡的数据 / this tag holds no learning-card record",
            reason="foreign-ndef",
        )
    raise MalformedCredential("卡上没有数据 / the tag holds no NDEF data", reason="no-ndef")


def type2_tlv(message: bytes) -> bytes:
    """The NDEF Message TLV plus the terminator TLV, as written to a Type 2 tag."""
    short = len(message) < 0xFF
    tlv = bytes([0x03, len(message)]) if short else bytes([0x03, 0xFF]) + len(message).to_bytes(2, "big")
    return tlv + message + b"\xfe"


def smallest_ntag(message: bytes) -> str | None:
    """The smallest NTAG21x that holds ``message`` with its TLVs, or None."""
    size = len(type2_tlv(message))
    for name, capacity in (
        ("NTAG213", NTAG213_BYTES),
        ("NTAG215", NTAG215_BYTES),
        ("NTAG216", NTAG216_BYTES),
    ):
        if size <= capacity:
            return name
    return None
