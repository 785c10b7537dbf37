"""An NXP NTAG 424 DNA as far as a reader needs it to read (and write) its NDEF: ISO/IEC 14443-4
(RATS/ATS, ISO-DEP I-blocks with their block number, R(NAK) presence checks, DESELECT), the
NFC Forum Type 4 NDEF application (ISO SELECT of the application, the capability container
E103 and the NDEF file E104, READ BINARY, UPDATE BINARY), and Secure Dynamic Messaging: on the
first read of the NDEF file after it is selected, the read counter goes up and the PICCData
and SDMMAC are mirrored as hex text at their offsets (``records.sun`` computes them, with the
chip's keys).

Written from the NTAG 424 DNA datasheet and NXP AN12196, not from a reader library.
Native commands for personalisation, in ISO wrapping (CLA 90): AuthenticateEV2First, and in
full secure messaging ChangeFileSettings (SDM options, access rights, offsets) and ChangeKey
(the session's own key, or another with its old value XORed and a CRC); the session crypto is
``provisioning.ntag424``'s, which AN12196's examples pin byte for byte.

Simplifications: the capability container advertises MLe 128 and MLc 112 bytes (the real chip:
256 and 255) so no ISO-DEP chaining is needed; no encrypted file data mirror, no LRP, no
AuthenticateEV2NonFirst, no tamper loop; key versions are not kept.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from provisioning import ntag424 as pcd
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
    """The NDEF file's SDM settings: which keys, where the mirrors go in the file."""

    picc_offset: int  # of the 32 hex digits of PICCData in the NDEF file
    mac_offset: int  # of the 16 hex digits of SDMMAC
    meta_no: int = pcd.META_READ_KEY
    file_no: int = pcd.FILE_READ_KEY
    counter: int = 0


@dataclass
class Ntag424:
    uid: bytes
    ndef_file: bytearray  # NLEN (2 bytes) + the NDEF message, as stored
    sdm: Sdm | None = None
    writable: bool = True
    keys: list[bytes] = field(default_factory=lambda: [bytes(16)] * 5)  # factory: all zero
    state: str = IDLE
    commands: int = 0
    served: bytes = b""  # the NDEF file as last read, mirrors filled in
    _block: int = 0
    _selected: bytes = b""
    _app: bool = False
    _fresh: bool = False  # the NDEF file was selected and not read yet
    _view: bytes = b""
    _padding: bytes = field(default_factory=lambda: os.urandom(5))
    _session: pcd.Session | None = None
    _auth: tuple[int, bytes] | None = None  # key number, RndB: AuthenticateEV2First under way
    _auth_key: int = 0

    def field_off(self) -> None:
        self.state = IDLE
        self._app, self._selected, self._session = False, b"", None

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
        if cla == 0x90 and self._app:
            return self.native(ins, apdu, body)
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

    # --- native commands (personalisation) ---------------------------------------------------

    def native(self, ins: int, apdu: bytes, body: bytes) -> bytes:
        if ins == 0x71 and len(body) >= 1 and body[0] < len(self.keys):  # AuthenticateEV2First
            rnd_b = os.urandom(16)
            self._auth, self._session = (body[0], rnd_b), None
            return pcd.aes_cbc(self.keys[body[0]], bytes(16), rnd_b, encrypt=True) + b"\x91\xaf"
        if ins == 0xAF and self._auth is not None and len(body) == 32:
            key_no, rnd_b = self._auth
            key, self._auth = self.keys[key_no], None
            plain = pcd.aes_cbc(key, bytes(16), body, encrypt=False)
            rnd_a = plain[:16]
            if plain[16:] != rnd_b[1:] + rnd_b[:1]:  # RndB rotated left by one byte
                return b"\x91\xae"  # authentication error
            ti = os.urandom(4)
            sv1, sv2 = pcd.session_vectors(rnd_a, rnd_b)
            self._session, self._auth_key = pcd.Session(sun.cmac(key, sv1), sun.cmac(key, sv2), ti), key_no
            answer = ti + rnd_a[1:] + rnd_a[:1] + bytes(12)  # TI, RndA rotated, PDcap2, PCDcap2
            return pcd.aes_cbc(key, bytes(16), answer, encrypt=True) + b"\x91\x00"
        if ins in (0x5F, 0xC4):
            return self._secure(ins, apdu)
        return b"\x91\x1c"  # illegal command

    def _secure(self, ins: int, apdu: bytes) -> bytes:
        session = self._session
        if session is None or self._auth_key != 0:
            return b"\x91\xae"
        try:
            header, plain = session.unwrap_full(apdu)
        except pcd.PersonaliseError:
            self._session = None
            return b"\x91\x1e"  # integrity error
        session.counter += 1
        if ins == 0x5F and header == b"\x02" and len(plain) == 15 and plain[0] & 0x40 and plain[3] == 0xC1:
            self.sdm = Sdm(int.from_bytes(plain[6:9], "little"), int.from_bytes(plain[12:15], "little"),
                           meta_no=plain[5] >> 4, file_no=plain[5] & 0x0F, counter=self.sdm.counter if self.sdm else 0)
            self.writable = plain[2] & 0x0F == 0x0E  # write access free
        elif ins == 0xC4 and header[0] == self._auth_key and len(plain) == 17:
            self.keys[header[0]] = plain[:16]
            self._session = None  # the session's own key changed: it ends, no MAC
            return b"\x91\x00"
        elif ins == 0xC4 and header[0] < len(self.keys) and len(plain) == 21:
            new = bytes(a ^ b for a, b in zip(plain[:16], self.keys[header[0]], strict=True))
            if pcd.crc32(new) != plain[17:21]:
                return b"\x91\x1e"
            self.keys[header[0]] = new
        else:
            return b"\x91\x9e"  # parameter error
        return session.response_mac(0x00) + b"\x91\x00"

    def _ndef_view(self) -> bytes:
        """The file as the chip serves it: on the first read after selection with SDM on, the
        counter goes up and the mirrors are written into what is read (not into memory)."""
        if self.sdm is None:
            return bytes(self.ndef_file)
        if self._fresh:
            self._fresh = False
            s = self.sdm
            s.counter += 1
            e = sun.encrypt_picc(self.keys[s.meta_no], self.uid, s.counter, self._padding).hex().upper()
            c = sun.sdm_mac(self.keys[s.file_no], self.uid, s.counter).hex().upper()
            view = bytearray(self.ndef_file)
            view[s.picc_offset:s.picc_offset + 32] = e.encode()
            view[s.mac_offset:s.mac_offset + 16] = c.encode()
            self._view = self.served = bytes(view)
        return self._view or bytes(self.ndef_file)


def personalised(credential: bytes, uid: bytes, master: bytes, county: str) -> Ntag424:
    """A card as ``provision cards write --sun`` leaves it, made directly (for tests that start
    from a personalised card): the NDEF, SDM on at the SUN record, the county's keys."""
    message, picc_offset = pcd.sun_ndef(credential)
    ndef_file = bytearray(len(message).to_bytes(2, "big") + message)
    ndef_file += bytes(NDEF_SIZE - len(ndef_file))
    keys = [pcd.app_key(master, county, uid), sun.file_read_key(master, county, uid),
            sun.meta_read_key(master, county), bytes(16), bytes(16)]
    return Ntag424(uid, ndef_file, Sdm(picc_offset, picc_offset + 32), writable=False, keys=keys)


def plain(message: bytes = b"", *, writable: bool = True, uid: bytes | None = None) -> Ntag424:
    """A Type 4 card without SDM, holding ``message`` (``b""``: an empty NDEF file)."""
    ndef_file = bytearray(len(message).to_bytes(2, "big") + message)
    ndef_file += bytes(NDEF_SIZE - len(ndef_file))
    return Ntag424(uid or b"\x04" + os.urandom(6), ndef_file, None, writable)
