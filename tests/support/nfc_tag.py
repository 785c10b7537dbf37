"""A Type 3 (FeliCa) tag emulated through nfcpy's simulated `udp` frontend: the real nfcpy
stack on both sides, no hardware. Holds an NDEF message in Type 3 memory (attribute block
and 16-byte blocks), read-only or writable, and can be presented and taken away."""

from __future__ import annotations

import gc
import os
import struct
import threading
import time

import nfc

from tests.support.ports import free_port

# PMM bytes 5 and 6 set the reader's timeouts for Check (read) and Update (write): with the
# exponent at its largest (0b11……) a read of one block may take 77 ms instead of 4.8 ms —
# this tag is Python threads in a busy test process, not silicon answering in microseconds
PMM = bytearray.fromhex("03014b024fc9d3ff")
SYSTEM = bytearray.fromhex("12fc")  # NDEF system code


def type3_memory(ndef: bytes, capacity_blocks: int, writable: bool, length: int | None = None) -> bytearray:
    attr = bytearray(16)
    attr[0], attr[1], attr[2] = 0x10, 4, 4  # version 1.0, Nbr, Nbw
    attr[3:5] = struct.pack(">H", capacity_blocks)  # Nmaxb
    attr[10] = 0x01 if writable else 0x00
    attr[11:14] = (len(ndef) if length is None else length).to_bytes(3, "big")
    attr[14:16] = struct.pack(">H", sum(attr[0:14]))
    data = bytearray(ndef) + bytearray(capacity_blocks * 16 - len(ndef))
    return attr + data


# How long the tag listens for a reader before it starts listening again. nfcpy's default,
# 1.0 s, is also how long a reader on the udp device waits for an answer to each poll while no
# tag is there: the two lock in step, the reader's next poll lands at the very end of the
# tag's listening, and the tag starts listening afresh just as the reader sends its first read,
# which is then lost (seen in nfcpy's debug log of a failed test). 1.5 s puts that poll in the
# middle of the tag's listening.
LISTEN_SECONDS = 1.5

_presented = [0]


def _hold_still() -> None:
    """This tag is Python threads inside the test process, which by the middle of the suite holds
    some 120,000 objects: one full garbage collection then stops every thread for about 100 ms,
    longer than the reader waits for the tag's answer. While a tag exists, what exists
    already is frozen out of the collector (``gc.freeze``), so only new objects are scanned."""
    if _presented[0] == 0:
        gc.collect()
        gc.freeze()
    _presented[0] += 1


def _let_go() -> None:
    _presented[0] -= 1
    if _presented[0] == 0:
        gc.unfreeze()


class EmulatedTag:
    """Present the tag with ``present()``; ``remove()`` takes it away."""

    def __init__(self, ndef: bytes = b"", *, writable: bool = False, capacity_blocks: int = 16,
                 port: int | None = None, length: int | None = None) -> None:
        self.port = port or free_port()
        self.device = f"udp:localhost:{self.port}"
        self.memory = type3_memory(ndef, capacity_blocks, writable, length)
        self.writable = writable
        self.connections = 0
        self.idm = bytearray.fromhex("02fe") + bytearray(os.urandom(6))  # each card its own chip id (never identity)
        self._away = threading.Event()
        self._thread: threading.Thread | None = None
        self._holding = False
        _hold_still()  # here rather than in present(): a benchmark times present() as the card's arrival
        self._holding = True

    def ndef(self) -> bytes:
        length = int.from_bytes(self.memory[11:14], "big")
        return bytes(self.memory[16:16 + length])

    def _on_startup(self, target: nfc.clf.LocalTarget) -> nfc.clf.LocalTarget:
        target.brty = "212F"
        target.sensf_res = bytearray.fromhex("01") + self.idm + PMM + SYSTEM
        return target

    def _on_connect(self, tag: nfc.tag.tt3.Type3TagEmulation) -> bool:
        self.connections += 1

        def read(block: int, rb: int, re: int) -> bytearray | None:
            start = block * 16
            return self.memory[start:start + 16] if start < len(self.memory) else None

        def write(block: int, data: bytearray, wb: int, we: int) -> bool:
            start = block * 16
            if not self.writable or start >= len(self.memory):
                return False
            self.memory[start:start + 16] = data
            return True

        tag.add_service(0x0009, read, write)
        tag.add_service(0x000B, read, lambda *args: False)
        return True

    def _serve(self) -> None:
        with nfc.ContactlessFrontend(self.device) as clf:
            while not self._away.is_set():
                clf.connect(card={"on-startup": self._on_startup, "on-connect": self._on_connect,
                                  "on-release": lambda tag: True, "timeout": LISTEN_SECONDS},
                            terminate=self._away.is_set)

    def present(self, settle: float = 0.2) -> EmulatedTag:
        if not self._holding:
            _hold_still()
            self._holding = True
        self._away.clear()
        self._thread = threading.Thread(target=self._serve, name="emulated-tag", daemon=True)
        self._thread.start()
        time.sleep(settle)
        return self

    def remove(self) -> None:
        self._away.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._holding:
            self._holding = False
            _let_go()
