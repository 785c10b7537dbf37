"""NTAG 424 DNA Secure Unique NFC (SUN) messages: what the chip mirrors into its NDEF on every
read, and how the county checks it (NXP AN12196, AES mode; keys diversified per NXP AN10922).

On each read the chip writes into its NDEF, as hex text: ``e`` — PICCData (a tag byte, the
7-byte UID, the 3-byte read counter, padding) encrypted with the SDM meta-read key — and
``c`` — a CMAC, with a session key made from the card's SDM file-read key, the UID and the
counter, over the configured MAC input (empty here, as in AN12196's example), truncated to its
eight odd-numbered bytes. A copied NDEF replays an old counter; a chip without the county's
key cannot make a valid ``c``.

Keys come from one county master key: the meta-read key is the same for all the county's cards
(it must be known before the UID is), the file-read key is diversified with the card's UID.
The UID is never stored or logged: :func:`chip_tag` is a keyed digest that names the chip.

Pure: no I/O, no clock. Errors: :class:`records.errors.SunError` (``reason``: ``bad-sun``,
``bad-mac``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from records.errors import SunError

PICC_TAG = 0xC7  # UID mirrored, counter mirrored, UID length 7
_SV1 = bytes.fromhex("c33c00010080")  # session ENC key
_SV2 = bytes.fromhex("3cc300010080")  # session MAC key
_HEX = re.compile(r"[0-9A-Fa-f]+")


def cmac(key: bytes, data: bytes) -> bytes:
    c = CMAC(algorithms.AES(key))
    c.update(data)
    return c.finalize()


def _ecb(key: bytes, block: bytes, encrypt: bool) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.CBC(bytes(16)))  # one block, zero IV: as AN12196 says
    op = cipher.encryptor() if encrypt else cipher.decryptor()
    return op.update(block) + op.finalize()


def diversify(master: bytes, data: bytes) -> bytes:
    """AN10922 AES-128 key diversification: CMAC(master, 0x01 ‖ data), data 1–31 bytes (the
    CMAC's own padding and subkeys are the note's)."""
    if not 1 <= len(data) <= 31:
        raise SunError("diversification input must be 1–31 bytes", reason="bad-sun")
    return cmac(master, b"\x01" + data)


def meta_read_key(master: bytes, county: str) -> bytes:
    """The county's SDM meta-read key (decrypts ``e``), the same on all its cards."""
    return diversify(master, b"LC-SDM-META:" + county.encode()[:19])


def file_read_key(master: bytes, county: str, uid: bytes) -> bytes:
    """A card's SDM file-read key (its ``c``): diversified with its UID."""
    return diversify(master, uid + b"LCSDM" + county.encode()[:19])


def chip_tag(master: bytes, uid: bytes) -> str:
    """A name for the chip that does not reveal its UID (HMAC-SHA-256, 16 hex digits)."""
    return hmac.new(master, b"LC-CHIP:" + uid, hashlib.sha256).hexdigest()[:16]


def session_mac_key(file_key: bytes, uid: bytes, counter: int) -> bytes:
    return cmac(file_key, _SV2 + uid + counter.to_bytes(3, "little"))


def session_enc_key(file_key: bytes, uid: bytes, counter: int) -> bytes:
    return cmac(file_key, _SV1 + uid + counter.to_bytes(3, "little"))


def sdm_mac(file_key: bytes, uid: bytes, counter: int, mac_input: bytes = b"") -> bytes:
    """The 8-byte SDMMAC: the CMAC's bytes 1, 3, 5 … 15."""
    return cmac(session_mac_key(file_key, uid, counter), mac_input)[1::2]


def encrypt_picc(meta_key: bytes, uid: bytes, counter: int, padding: bytes) -> bytes:
    """What the chip does on a read (for the simulated chip and tests): ``padding`` is 5 random bytes."""
    return _ecb(meta_key, bytes([PICC_TAG]) + uid + counter.to_bytes(3, "little") + padding, encrypt=True)


def decrypt_picc(meta_key: bytes, e: bytes) -> tuple[bytes, int]:
    """(UID, read counter) from an ``e``; raises when it does not decrypt to PICCData."""
    if len(e) != 16:
        raise SunError("the SUN message's PICCData is not 16 bytes", reason="bad-sun")
    plain = _ecb(meta_key, e, encrypt=False)
    if plain[0] != PICC_TAG:
        raise SunError("the SUN message's PICCData does not decrypt", reason="bad-mac")
    return plain[1:8], int.from_bytes(plain[8:11], "little")


@dataclass(frozen=True)
class Sun:
    """A SUN message as the kiosk records it: ``e`` (32 hex digits) and ``c`` (16)."""

    e: str
    c: str

    @classmethod
    def parse(cls, e: str, c: str) -> Sun:
        if len(e) != 32 or len(c) != 16 or not _HEX.fullmatch(e) or not _HEX.fullmatch(c):
            raise SunError("a SUN message is 32 + 16 hex digits", reason="bad-sun")
        return cls(e.upper(), c.upper())


@dataclass(frozen=True)
class SunTap:
    chip: str  # chip_tag of the UID
    counter: int


def verify(sun: Sun, master: bytes, county: str) -> SunTap:
    """The chip and its read counter, if ``c`` is the county's MAC for this ``e``; raises
    :class:`SunError` (``bad-mac``) otherwise."""
    uid, counter = decrypt_picc(meta_read_key(master, county), bytes.fromhex(sun.e))
    expected = sdm_mac(file_read_key(master, county, uid), uid, counter)
    if not hmac.compare_digest(expected, bytes.fromhex(sun.c)):
        raise SunError("the SUN message's MAC is wrong: not a card the county made", reason="bad-mac")
    return SunTap(chip_tag(master, uid), counter)


def judge(last_counter: int | None, tap: SunTap) -> str:
    """``ok``, or ``replayed`` (the same counter seen again: a copied NDEF) or ``stale`` (a
    counter below one already seen from this chip)."""
    if last_counter is None or tap.counter > last_counter:
        return "ok"
    return "replayed" if tap.counter == last_counter else "stale"


# --- the SUN record on the card -------------------------------------------------------------
# An NTAG 424 DNA learning card's NDEF: the credential record (records.ndef), then one
# external-type record "lcsun:1" whose 48-byte payload the chip overwrites on every read with
# the mirrored PICCData (32 hex digits) and SDMMAC (16) — its SDM offsets point there, with an
# empty MAC input (the MAC binds UID and counter; the credential is signed by the county).

SUN_RECORD_TYPE = b"lcsun:1"
_TNF_EXTERNAL, _SR, _IL = 0x04, 0x10, 0x08


def sun_record(sun: Sun | None = None, *, last: bool = True) -> bytes:
    """The SUN record (``None``: the zeros a personalised chip overwrites), not message-begin."""
    payload = (sun.e + sun.c).encode() if sun else b"0" * 48
    header = _SR | _TNF_EXTERNAL | (0x40 if last else 0)
    return bytes([header, len(SUN_RECORD_TYPE), len(payload)]) + SUN_RECORD_TYPE + payload


def find_in_ndef(message: bytes) -> Sun | None:
    """The SUN message of the card's ``lcsun:1`` record, or None (a card without one, or a
    record that is not one: a malformed SUN is the gateway's to judge, so it is kept only when
    well-formed)."""
    pos = 0
    while pos + 3 <= len(message):
        header, type_len = message[pos], message[pos + 1]
        if header & _SR:
            length, pos = message[pos + 2], pos + 3
        else:
            length, pos = int.from_bytes(message[pos + 2:pos + 6], "big"), pos + 6
        id_len = message[pos] if header & _IL else 0
        pos += 1 if header & _IL else 0
        rtype = message[pos:pos + type_len]
        payload = message[pos + type_len + id_len:pos + type_len + id_len + length]
        pos += type_len + id_len + length
        if header & 0x07 == _TNF_EXTERNAL and rtype == SUN_RECORD_TYPE and len(payload) == 48:
            try:
                return Sun.parse(payload[:32].decode("ascii"), payload[32:].decode("ascii"))
            except (UnicodeDecodeError, SunError):
                return None
        if header & 0x40:  # message end
            break
    return None
