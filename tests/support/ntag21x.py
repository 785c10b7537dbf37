"""An NXP NTAG213/215/216 chip as a state machine: ISO/IEC 14443-A activation (REQA/WUPA,
anticollision and select over two cascade levels for its 7-byte UID) and the NTAG21x command
set — GET_VERSION, READ, FAST_READ, WRITE, READ_SIG, PWD_AUTH, HALT — over the memory map of
the NXP datasheet (static and dynamic lock bytes, capability container, CFG0/CFG1, PWD, PACK).

Written from the datasheet (NTAG213/215/216, rev. 3.2), not from any reader library: frames in,
frames out. A command the chip does not know is answered with a NAK and the chip falls back
to IDLE, as the real chip does; a protected page read or written without PWD_AUTH gets a NAK.
Simplifications: no anticollision among several chips, no ECC-valid signature (READ_SIG
answers 32 fixed bytes), no counters (READ_CNT), no UID mirror, dynamic lock bits lock whole
groups of pages without the block-lock bits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import reduce
from operator import xor
from typing import Protocol

ACK, NAK = b"\x0a", b"\x00"
IDLE, READY1, READY2, ACTIVE, AUTHENTICATED, HALT = "idle", "ready1", "ready2", "active", "authenticated", "halt"


@dataclass(frozen=True)
class Model:
    name: str
    pages: int  # pages 0 … pages-1, four bytes each
    cfg: int  # CFG0's page; the dynamic lock bytes are the page before, PWD and PACK the two after
    version: bytes  # GET_VERSION's answer
    cc_size: int  # CC byte 2: the NDEF area in units of 8 bytes
    pages_per_lock_bit: int  # dynamic lock bits, from page 16


MODELS = {
    "NTAG213": Model("NTAG213", 45, 41, bytes.fromhex("0004040201000f03"), 0x12, 2),
    "NTAG215": Model("NTAG215", 135, 131, bytes.fromhex("0004040201001103"), 0x3E, 16),
    "NTAG216": Model("NTAG216", 231, 227, bytes.fromhex("0004040201001303"), 0x6D, 16),
}


def tlv(message: bytes) -> bytes:
    """An NDEF message as a Type 2 tag's NDEF TLV followed by the terminator TLV."""
    length = bytes([len(message)]) if len(message) < 255 else b"\xff" + len(message).to_bytes(2, "big")
    return b"\x03" + length + message + b"\xfe"


def memory_image(model: str = "NTAG213", message: bytes | None = b"", *, uid: bytes | None = None,
                 formatted: bool = True, password: bytes | None = None, auth0: int = 4,
                 read_protect: bool = False, data: bytes | None = None) -> bytes:
    """The chip's whole memory as it leaves a card printer.

    ``message``: the NDEF message (``None``: a formatted card whose data area holds no NDEF
    TLV). ``formatted=False``: no capability container (a blank chip). ``password``: six bytes,
    PWD then PACK; pages from ``auth0`` on then need PWD_AUTH to be written (and read, with
    ``read_protect``); the CC says so (access bits 0x8, as NXP's tools set them). ``data``:
    raw bytes for the data area instead of a TLV (a damaged card)."""
    m = MODELS[model]
    uid = uid or b"\x04" + os.urandom(6)
    mem = bytearray(m.pages * 4)
    mem[0:3] = uid[0:3]
    mem[3] = 0x88 ^ uid[0] ^ uid[1] ^ uid[2]
    mem[4:8] = uid[3:7]
    mem[8] = reduce(xor, uid[3:7])
    mem[9] = 0x48
    if formatted:
        access = (0x88 if read_protect else 0x08) if password else 0x00
        mem[12:16] = bytes([0xE1, 0x10, m.cc_size, access])
    area = data if data is not None else (tlv(message) if message is not None and formatted else b"")
    mem[16:16 + len(area)] = area
    mem[(m.cfg - 1) * 4:(m.cfg - 1) * 4 + 4] = b"\x00\x00\x00\xbd"
    mem[m.cfg * 4:m.cfg * 4 + 4] = bytes([0x04, 0, 0, auth0 if password else 0xFF])
    mem[(m.cfg + 1) * 4:(m.cfg + 1) * 4 + 4] = bytes([0x80 if password and read_protect else 0, 0x05, 0, 0])
    key = password or b"\xff\xff\xff\xff\x00\x00"
    mem[(m.cfg + 2) * 4:(m.cfg + 2) * 4 + 4] = key[0:4]
    mem[(m.cfg + 3) * 4:(m.cfg + 3) * 4 + 4] = key[4:6] + b"\x00\x00"
    return bytes(mem)


class Chip(Protocol):
    state: str
    commands: int

    @property
    def uid(self) -> bytes: ...


def activation(chip: Chip, frame: bytes, *, atqa: bytes, sak: bytes) -> bytes | None:
    """ISO/IEC 14443-3 A for a 7-byte UID: REQA/WUPA, anticollision and select over two
    cascade levels; the chip is ``ACTIVE`` after the second select (SAK ``sak``)."""
    uid = chip.uid
    cl1 = b"\x88" + uid[0:3] + bytes([0x88 ^ uid[0] ^ uid[1] ^ uid[2]])
    cl2 = uid[3:7] + bytes([reduce(xor, uid[3:7])])
    if frame in (b"\x26", b"\x52"):  # REQA wakes an idle chip, WUPA a halted one too
        if chip.state == HALT and frame == b"\x26":
            return None
        chip.state = READY1
        return atqa
    if chip.state == READY1 and frame == b"\x93\x20":
        return cl1
    if chip.state == READY1 and frame == b"\x93\x70" + cl1:
        chip.state = READY2
        return b"\x04"  # SAK: UID not complete
    if chip.state == READY2 and frame == b"\x95\x20":
        return cl2
    if chip.state == READY2 and frame == b"\x95\x70" + cl2:
        chip.state = ACTIVE
        return sak
    return None


@dataclass
class Ntag21x:
    """One chip in the field. ``answer(frame)`` returns the chip's reply, or None (silence)."""

    model: Model
    memory: bytearray
    signature: bytes = field(default_factory=lambda: os.urandom(32))
    state: str = IDLE
    commands: int = 0  # commands answered since the chip came into the field

    @classmethod
    def of(cls, model: str, memory: bytes) -> Ntag21x:
        m = MODELS[model]
        if len(memory) != m.pages * 4:
            raise ValueError(f"{model} has {m.pages * 4} bytes of memory, not {len(memory)}")
        return cls(m, bytearray(memory))

    # --- the memory map ---------------------------------------------------------------------

    def page(self, n: int) -> bytes:
        return bytes(self.memory[n * 4:n * 4 + 4])

    @property
    def uid(self) -> bytes:
        return self.page(0)[0:3] + self.page(1)

    @property
    def auth0(self) -> int:
        return self.memory[self.model.cfg * 4 + 3]

    @property
    def access(self) -> int:
        return self.memory[(self.model.cfg + 1) * 4]

    def _protected(self, page: int) -> bool:
        return page >= self.auth0 and self.state != AUTHENTICATED

    def _locked(self, page: int) -> bool:
        lock0, lock1 = self.memory[10], self.memory[11]
        if 3 <= page <= 7:
            return bool(lock0 >> page & 1)
        if 8 <= page <= 15:
            return bool(lock1 >> (page - 8) & 1)
        cfg = self.model.cfg
        if 16 <= page < cfg - 1:
            dyn = int.from_bytes(self.memory[(cfg - 1) * 4:(cfg - 1) * 4 + 2], "little")
            return bool(dyn >> ((page - 16) // self.model.pages_per_lock_bit) & 1)
        if page in (cfg, cfg + 1):
            return bool(self.access & 0x40)  # CFGLCK
        return False

    def _readable(self, page: int) -> bytes:
        if page in (self.model.cfg + 2, self.model.cfg + 3):
            return b"\x00\x00\x00\x00"  # PWD and PACK always read as zeros
        return self.page(page)

    def _read(self, first: int, last: int, wrap: bool) -> bytes | None:
        end = self.model.pages - 1
        if first > end or (not wrap and last > end):
            return None
        pages = [(first + i) % self.model.pages if wrap else first + i for i in range(last - first + 1)]
        if self.access & 0x80 and any(self._protected(p) for p in pages):
            return None
        return b"".join(self._readable(p) for p in pages)

    def _write(self, page: int, data: bytes) -> bool:
        cfg = self.model.cfg
        if page < 2 or page >= self.model.pages or self._protected(page) or self._locked(page):
            return False
        at = page * 4
        if page == 2:  # only the lock bytes, and lock bits are only ever set
            self.memory[at + 2] |= data[2]
            self.memory[at + 3] |= data[3]
        elif page == 3 or page == cfg - 1:  # CC and dynamic lock bytes: one-time programmable
            for i in range(4 if page == 3 else 3):
                self.memory[at + i] |= data[i]
        else:
            self.memory[at:at + 4] = data
        return True

    # --- the air interface ------------------------------------------------------------------

    def field_off(self) -> None:
        self.state = IDLE

    def answer(self, frame: bytes) -> bytes | None:
        if self.state not in (ACTIVE, AUTHENTICATED):
            return activation(self, frame, atqa=b"\x44\x00", sak=b"\x00")  # SAK 00: a Type 2 tag
        self.commands += 1
        reply = self._command(frame)
        if reply == NAK:
            self.state = IDLE
        return reply

    def _command(self, frame: bytes) -> bytes | None:
        code, args = frame[0], frame[1:]
        if code == 0x60 and not args:  # GET_VERSION
            return self.model.version
        if code == 0x30 and len(args) == 1:  # READ: four pages, rolling over at the end
            return self._read(args[0], args[0] + 3, wrap=True) or NAK
        if code == 0x3A and len(args) == 2 and args[0] <= args[1]:  # FAST_READ
            return self._read(args[0], args[1], wrap=False) or NAK
        if code == 0xA2 and len(args) == 5:  # WRITE
            return ACK if self._write(args[0], args[1:5]) else NAK
        if code == 0x1B and len(args) == 4:  # PWD_AUTH
            cfg = self.model.cfg
            if args == self.page(cfg + 2):
                self.state = AUTHENTICATED
                return self.page(cfg + 3)[0:2]  # PACK
            return NAK
        if code == 0x3C and args == b"\x00":  # READ_SIG
            return self.signature
        if code == 0x50 and args == b"\x00":  # HALT: no answer
            self.state = HALT
            return None
        return NAK
