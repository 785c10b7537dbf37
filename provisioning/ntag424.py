"""Personalising an NTAG 424 DNA as a county anti-clone card (docs/cards.md), through nfcpy's
Type 4 tag: the NDEF (credential record, then the ``lcsun:1`` record the chip mirrors into),
Secure Dynamic Messaging switched on at that record, the keys diversified from the county's
SDM master key (``records.sun``).

The chip's native commands go in ISO 7816 wrapping (CLA 90) with NXP's EV2 secure messaging
(AN12196): ``AuthenticateEV2First`` with the factory key 0, then in full mode (encrypted and
MACed, the command counter in every IV and MAC) ``ChangeFileSettings`` and ``ChangeKey`` — the
file-read key (1), the meta-read key (2), and last the card's own key 0, diversified too, so
no one without the county's master key can change the card again. The byte layouts and
the crypto are checked against AN12196's worked examples (tests/unit/test_ntag424_personalise.py).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from provisioning.errors import ProvisioningError
from provisioning.files import write_secret
from records import card, sun

NDEF_AID = bytes.fromhex("D2760000850101")
FILE_READ_KEY, META_READ_KEY = 1, 2  # key numbers on the chip
NDEF_FILE_NO = 0x02
Exchange = Callable[[bytes], bytes]  # a whole C-APDU → the R-APDU with its status word


class PersonaliseError(ProvisioningError):
    """The chip refused a step, or did not prove it holds the key."""


def aes_cbc(key: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
    op = cipher.encryptor() if encrypt else cipher.decryptor()
    return op.update(data) + op.finalize()


def pad(data: bytes) -> bytes:
    """ISO/IEC 9797-1 padding method 2: 80 then zeros, always added."""
    return data + b"\x80" + bytes(15 - len(data) % 16)


def crc32(data: bytes) -> bytes:
    """The key checksum of ChangeKey: CRC-32 without the final inversion, low byte first."""
    return ((~zlib.crc32(data)) & 0xFFFFFFFF).to_bytes(4, "little")


def _rotl(b: bytes) -> bytes:
    return b[1:] + b[:1]


def session_vectors(rnd_a: bytes, rnd_b: bytes) -> tuple[bytes, bytes]:
    """SV1 (→ the session ENC key) and SV2 (→ the MAC key) of AuthenticateEV2First."""
    mixed = rnd_a[0:2] + bytes(x ^ y for x, y in zip(rnd_a[2:8], rnd_b[0:6], strict=True)) + rnd_b[6:16] + rnd_a[8:16]
    return b"\xa5\x5a\x00\x01\x00\x80" + mixed, b"\x5a\xa5\x00\x01\x00\x80" + mixed


@dataclass
class Session:
    """An EV2 secure-messaging session: keys, transaction identifier, command counter."""

    enc: bytes
    mac: bytes
    ti: bytes
    counter: int = 0

    def _iv(self, label: bytes) -> bytes:
        block = label + self.ti + self.counter.to_bytes(2, "little") + bytes(8)
        return aes_cbc(self.enc, bytes(16), block, encrypt=True)

    def mac_of(self, code: int, header: bytes, data: bytes) -> bytes:
        message = bytes([code]) + self.counter.to_bytes(2, "little") + self.ti + header + data
        return sun.cmac(self.mac, message)[1::2]

    def wrap_full(self, command: int, header: bytes, plain: bytes) -> bytes:
        """The C-APDU of a command in full mode (CommMode.Full)."""
        encrypted = aes_cbc(self.enc, self._iv(b"\xa5\x5a"), pad(plain), encrypt=True) if plain else b""
        body = header + encrypted + self.mac_of(command, header, encrypted)
        return bytes([0x90, command, 0, 0, len(body)]) + body + b"\x00"

    def unwrap_full(self, apdu: bytes) -> tuple[bytes, bytes]:
        """The chip's side: (header, plain data) of a full-mode C-APDU; raises on a bad MAC."""
        command, body, header_len = apdu[1], apdu[5:5 + apdu[4]], 1
        header, encrypted, mact = body[:header_len], body[header_len:-8], body[-8:]
        if self.mac_of(command, header, encrypted) != mact:
            raise PersonaliseError("bad MAC")
        plain = aes_cbc(self.enc, self._iv(b"\xa5\x5a"), encrypted, encrypt=False).rstrip(b"\x00")
        if encrypted and plain[-1:] != b"\x80":
            raise PersonaliseError("bad padding")
        return header, plain[:-1]

    def response_mac(self, status: int, data: bytes = b"") -> bytes:
        """The MAC of a response: over the status, the counter after the command and TI."""
        return self.mac_of(status, b"", data)


def auth_part2(key: bytes, rnd_a: bytes, enc_rnd_b: bytes) -> tuple[bytes, bytes]:
    """(the part-2 C-APDU, RndB) from the chip's encrypted RndB."""
    rnd_b = aes_cbc(key, bytes(16), enc_rnd_b, encrypt=False)
    data = aes_cbc(key, bytes(16), rnd_a + _rotl(rnd_b), encrypt=True)
    return b"\x90\xaf\x00\x00\x20" + data + b"\x00", rnd_b


def auth_finish(key: bytes, rnd_a: bytes, rnd_b: bytes, answer: bytes) -> Session:
    """The session, once the chip has proved it holds ``key`` (RndA rotated back)."""
    plain = aes_cbc(key, bytes(16), answer[:32], encrypt=False)
    if plain[4:20] != _rotl(rnd_a):
        raise PersonaliseError("the chip did not prove it holds the key")
    sv1, sv2 = session_vectors(rnd_a, rnd_b)
    return Session(sun.cmac(key, sv1), sun.cmac(key, sv2), plain[0:4])


def authenticate(exchange: Exchange, key_no: int, key: bytes, rnd_a: bytes | None = None) -> Session:
    rnd_a = rnd_a or os.urandom(16)
    first = exchange(bytes([0x90, 0x71, 0, 0, 2, key_no, 0, 0]))
    if first[-2:] != b"\x91\xaf" or len(first) != 18:
        raise PersonaliseError(f"AuthenticateEV2First refused ({first[-2:].hex()})")
    apdu, rnd_b = auth_part2(key, rnd_a, first[:16])
    second = exchange(apdu)
    if second[-2:] != b"\x91\x00":
        raise PersonaliseError(f"AuthenticateEV2First refused ({second[-2:].hex()}): wrong key?")
    return auth_finish(key, rnd_a, rnd_b, second[:-2])


def change_key_plain(key_no: int, auth_key_no: int, new: bytes, old: bytes | None, version: int) -> bytes:
    if key_no == auth_key_no:
        return new + bytes([version])
    if old is None:
        raise ValueError("changing another key than the session's needs its old value")
    return bytes(a ^ b for a, b in zip(new, old, strict=True)) + bytes([version]) + crc32(new)


def sdm_file_settings(picc_offset: int, mac_offset: int) -> bytes:
    """The NDEF file's settings: SDM on, plain reads free and writes only with key 0; UID and
    counter mirrored as ASCII, PICCData encrypted with key 2, MAC with key 1 over an empty
    input (the MAC input starts where the MAC goes)."""
    return (bytes([0x40, 0x00, 0xE0, 0xC1, 0xF1, (META_READ_KEY << 4) | FILE_READ_KEY])
            + picc_offset.to_bytes(3, "little") + mac_offset.to_bytes(3, "little")
            + mac_offset.to_bytes(3, "little"))


def _full(exchange: Exchange, session: Session, command: int, header: bytes, plain: bytes, *,
          last: bool = False) -> None:
    answer = exchange(session.wrap_full(command, header, plain))
    session.counter += 1
    if answer[-2:] != b"\x91\x00":
        raise PersonaliseError(f"command {command:02X} refused ({answer[-2:].hex()})")
    if not last and answer[:-2] != session.response_mac(0x00):
        raise PersonaliseError(f"command {command:02X}: the chip's answer does not verify")


def sun_ndef(credential: bytes) -> tuple[bytes, int]:
    """The card's NDEF message (credential record, then the SUN record) and where, in the NDEF
    file (after its 2-byte length), the 32 hex digits of PICCData start."""
    first = bytearray(card.to_ndef(credential))
    first[0] &= 0xBF  # no longer the message's last record
    message = bytes(first) + sun.sun_record(None)
    return message, 2 + len(message) - 48


def app_key(master: bytes, county: str, uid: bytes) -> bytes:
    """The card's key 0, diversified, so only the county can change the card again."""
    return sun.diversify(master, uid + b"LCAPP" + county.encode()[:19])


def personalise(exchange: Exchange, uid: bytes, master: bytes, county: str, picc_offset: int,
                factory_key: bytes = bytes(16)) -> None:
    """Settings and keys, once the NDEF is written: select the NDEF application, authenticate
    with the factory key 0, switch SDM on, set keys 1, 2 and 0 (in that order)."""
    if exchange(b"\x00\xa4\x04\x0c\x07" + NDEF_AID + b"\x00")[-2:] != b"\x90\x00":
        raise PersonaliseError("no NDEF application: is this an NTAG 424 DNA?")
    session = authenticate(exchange, 0, factory_key)
    _full(exchange, session, 0x5F, bytes([NDEF_FILE_NO]), sdm_file_settings(picc_offset, picc_offset + 32))
    for key_no, key in ((FILE_READ_KEY, sun.file_read_key(master, county, uid)),
                        (META_READ_KEY, sun.meta_read_key(master, county))):
        _full(exchange, session, 0xC4, bytes([key_no]), change_key_plain(key_no, 0, key, factory_key, 1))
    _full(exchange, session, 0xC4, b"\x00", change_key_plain(0, 0, app_key(master, county, uid), None, 1),
          last=True)


def nfcpy_exchange(tag: Any) -> Exchange:
    """C-APDUs through an nfcpy Type 4 tag."""
    def send(apdu: bytes) -> bytes:
        data = apdu[5:5 + apdu[4]] if len(apdu) > 5 else None
        return bytes(tag.send_apdu(apdu[0], apdu[1], apdu[2], apdu[3], data, mrl=256, check_status=False))

    return send


def master_key(path: Path) -> bytes:
    """The county's SDM master key (32 hex digits in a 0600 file), made on first use."""
    if not path.exists():
        write_secret(path, (os.urandom(16).hex() + "\n").encode())
    try:
        key = bytes.fromhex(path.read_text().strip())
    except ValueError as err:
        raise ProvisioningError(f"{path} does not hold 32 hex digits") from err
    if len(key) != 16:
        raise ProvisioningError(f"{path} does not hold a 16-byte key")
    return key
