"""An NXP NTAG 424 DNA as far as a reader needs it to read (and write) its NDEF: ISO/IEC 14443-4
(RATS/ATS, ISO-DEP I-blocks with their block number, R(NAK) presence checks, DESELECT), the
NFC Forum Type 4 NDEF application (ISO SELECT of the application, the capability container
E103 and the NDEF file E104, READ BINARY, UPDATE BINARY), and Secure Dynamic Messaging: on the
first read of the NDEF file after it is selected, the read counter goes up and the PICCData
and SDMMAC are mirrored as hex text at their offsets (``records.sun`` computes them, with the
chip's keys).

Written from the NTAG 424 DNA datasheet and NXP AN12196, not from a reader library.
Simplifications: no native commands (AuthenticateEV2First, ChangeKey, ChangeFileSettings —
the chip is created personalised, keys and SDM offsets given); the capability container
advertises MLe 128 and MLc 112 bytes (the real chip: 256 and 255) so no ISO-DEP chaining is
needed; no encrypted file data mirror; no tamper loop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from records import sun
from tests.support.ntag21x import ACTIVE, HALT, IDLE, activation

ATS = bytes.fromhex("0677777102 80".replace(" ", ""))  # FSCI 7 (128 bytes), FWI 7
NDEF_AID = bytes.fromhex("D2760000850101")
CC_FILE, NDEF_FILE = b"\xe1\x03", b"\xe1\x04"
NDEF_SIZE = 256
OK, NOT_FOUND, WRONG_P1P2, NO_ACCESS, UNKNOWN = b"\x90\x00", b"\x6a\x82", b"\x6b\x00", b"\x69\x82", b"\x6d\x00"


def capability_container(writable: bool = True) -> bytes:
    tlv = b"\x04\x06" + NDEF_FILE + NDEF_SIZE.to_bytes(2, "big") + b"\x00" + (b"\x00" if writable else b"\xff")
    body = b"\x20" + (128).to_bytes(2, "big") + (112).to_bytes(2, "big") + tlv
    return (len(body) + 2).to_bytes(2, "big") + body


@dataclass
class Sdm:
    """The chip's SDM settings as personalised: keys and where the mirrors go in the file."""

    meta_key: bytes
    file_key: bytes
    picc_offset: int  # of the 32 hex digits of PICCData in the NDEF file
    mac_offset: int  # of the 16 hex digits of SDMMAC
    counter: int = 0


@dataclass
class Ntag424:
    uid: bytes
    ndef_file: bytearray  # NLEN (2 bytes) + the NDEF message, as stored
    sdm: Sdm | None = None
    writable: bool = True
    state: str = IDLE
    commands: int = 0
    served: bytes = b""  # the NDEF file as last read, mirrors filled in
    _block: int = 0
    _selected: bytes = b""
    _app: bool = False
    _fresh: bool = False  # the NDEF file was selected and not read yet
    _view: bytes = b""
    _padding: bytes = field(default_factory=lambda: os.urandom(5))

    def field_off(self) -> None:
        self.state = IDLE
        self._app, self._selected = False, b""

    def answer(self, frame: bytes) -> bytes | None:
        if self.state != ACTIVE and self.state != "protocol":
            return activation(self, frame, atqa=b"\x44\x03", sak=b"\x20")  # SAK 20: ISO 14443-4
        self.commands += 1
        if self.state == ACTIVE:
            if frame[:1] == b"\xe0":  # RATS
                self.state, self._block = "protocol", 1
                return ATS
            return None
        pcb = frame[0]
        if pcb & 0xF6 == 0xB2:  # R(NAK): a presence check
            return bytes([0xA2 | self._block])
        if pcb == 0xC2:  # S(DESELECT)
            self.state = HALT
            return b"\xc2"
        if pcb & 0xEE != 0x02:
            return None  # chaining and CIDs are not simulated (the CC keeps frames small)
        self._block = pcb & 1
        return bytes([0x02 | self._block]) + self.apdu(frame[1:])

    # --- ISO 7816-4 -----------------------------------------------------------------------

    def apdu(self, apdu: bytes) -> bytes:
        cla, ins, p1, p2 = apdu[:4]
        body = apdu[5:5 + apdu[4]] if len(apdu) > 5 else b""
        if cla != 0x00:
            return UNKNOWN
        if ins == 0xA4 and p1 == 0x04:
            self._app = body == NDEF_AID
            return OK if self._app else NOT_FOUND
        if ins == 0xA4 and p1 == 0x00 and self._app and body in (CC_FILE, NDEF_FILE):
            self._selected, self._fresh = body, body == NDEF_FILE
            return OK
        if ins == 0xA4:
            return NOT_FOUND
        if ins == 0xB0 and self._selected:
            offset, length = p1 << 8 | p2, (apdu[4] if len(apdu) == 5 else 0) or 256
            data = capability_container(self.writable) if self._selected == CC_FILE else self._ndef_view()
            return data[offset:offset + length] + OK if offset < len(data) else WRONG_P1P2
        if ins == 0xD6 and self._selected == NDEF_FILE:
            offset = p1 << 8 | p2
            if not self.writable:
                return NO_ACCESS
            if offset + len(body) > NDEF_SIZE:
                return WRONG_P1P2
            self.ndef_file[offset:offset + len(body)] = body
            return OK
        return UNKNOWN

    def _ndef_view(self) -> bytes:
        """The file as the chip serves it: on the first read after selection with SDM on, the
        counter goes up and the mirrors are written into what is read (not into memory)."""
        if self.sdm is None:
            return bytes(self.ndef_file)
        if self._fresh:
            self._fresh = False
            s = self.sdm
            s.counter += 1
            e = sun.encrypt_picc(s.meta_key, self.uid, s.counter, self._padding).hex().upper()
            c = sun.sdm_mac(s.file_key, self.uid, s.counter).hex().upper()
            view = bytearray(self.ndef_file)
            view[s.picc_offset:s.picc_offset + 32] = e.encode()
            view[s.mac_offset:s.mac_offset + 16] = c.encode()
            self._view = self.served = bytes(view)
        return self._view or bytes(self.ndef_file)


def personalised(credential_ndef: bytes, uid: bytes, master: bytes, county: str) -> Ntag424:
    """A card as the county's personalisation would leave it: NDEF = the credential record
    then the ``lcsun:1`` record of zeros, SDM on with the county's diversified keys, the
    mirrors at the SUN record's payload."""
    first = bytearray(credential_ndef)
    first[0] &= 0xBF  # not the message's last record any more
    message = bytes(first) + sun.sun_record(None)
    ndef_file = bytearray(len(message).to_bytes(2, "big") + message)
    ndef_file += bytes(NDEF_SIZE - len(ndef_file))
    picc_offset = 2 + len(message) - 48
    keys = Sdm(sun.meta_read_key(master, county), sun.file_read_key(master, county, uid), picc_offset,
               picc_offset + 32)
    return Ntag424(uid, ndef_file, keys)


def plain(message: bytes = b"", *, writable: bool = True, uid: bytes | None = None) -> Ntag424:
    """A Type 4 card without SDM, holding ``message`` (``b""``: an empty NDEF file)."""
    ndef_file = bytearray(len(message).to_bytes(2, "big") + message)
    ndef_file += bytes(NDEF_SIZE - len(ndef_file))
    return Ntag424(uid or b"\x04" + os.urandom(6), ndef_file, None, writable)
