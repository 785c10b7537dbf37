"""A reader's RF field with an NTAG21x (Type 2) or an NTAG 424 DNA (Type 4) card in it, on the
far side of nfcpy's simulated ``udp`` device: the reader (the kiosk's agent, ``provision cards
write``, nfcpy itself) opens ``udp:localhost:<port>`` and drives nfcpy's own ``sense_tta``,
``nfc.tag.tt2``, ``nfc.tag.tt2_nxp``, ``nfc.tag.tt4`` and NDEF code; this process answers as the
chip (``tests.support.ntag21x``, ``tests.support.ntag424``).

The field runs as its own process (``python -m tests.support.nfc_field <port>``): nfcpy gives a
Type 2 READ 5 ms before it gives up, less than one switch of Python's interpreter lock in a
busy test process. The test drives it through ``NfcField`` (one JSON line per command on the
process's stdin, one answer on its stdout): put a card on the reader, take it away (at once or
after so many commands: a card pulled away mid-read), read the chip's memory back.

nfcpy's ``udp`` device waits a fixed 1.0 s for an answer to each poll; a real reader knows within
a few milliseconds that no card answered. So with no card in the field this field answers a
poll (REQA, or a FeliCa poll) with ``RFOFF``, which nfcpy's ``sense`` takes as "nothing there"
at once, as a real reader's sense would. A chip that was in the field and leaves stays silent,
so nfcpy sees the time-outs it would see on the air.
"""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
import time
from typing import Any

from tests.support.ntag21x import Ntag21x
from tests.support.ntag424 import Ntag424, Sdm
from tests.support.ports import free_port


class Field:
    """The server side: one UDP socket, at most one chip."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.chip: Ntag21x | Ntag424 | None = None
        self.vanish_after: int | None = None
        self.gone = False  # the chip was pulled away mid-read: silent until the next present
        self.polls = 0  # polls nobody answered

    def datagram(self, data: bytes, addr: Any) -> None:
        if data.startswith(b"RFOFF"):
            if self.chip is not None:
                self.chip.field_off()
            return
        try:
            brty, hexdata = data.split()
            frame = bytes.fromhex(hexdata.decode())
        except ValueError:
            return
        here = self.chip is not None and not self.gone and brty == b"106A"
        if not here:
            if frame in (b"\x26", b"\x52") or brty != b"106A":  # a poll nobody answers
                self.polls += 1
                self.sock.sendto(b"RFOFF", addr)
            return
        assert self.chip is not None
        if self.vanish_after is not None and self.chip.commands >= self.vanish_after:
            self.gone = True
            return
        reply = self.chip.answer(frame)
        if reply is not None:
            self.sock.sendto(b"106A " + reply.hex().encode(), addr)

    def control(self, line: str) -> dict[str, Any]:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "present":
            if cmd["model"] == "NTAG424DNA":
                sdm = Sdm(**cmd["sdm"]) if cmd["sdm"] else None
                self.chip = Ntag424(bytes.fromhex(cmd["uid"]), bytearray.fromhex(cmd["memory"]), sdm,
                                    cmd["writable"], [bytes.fromhex(k) for k in cmd["keys"]])
            else:
                self.chip = Ntag21x.of(cmd["model"], bytes.fromhex(cmd["memory"]))
            self.vanish_after = cmd.get("vanish_after")
            self.gone = False
        elif op == "remove":
            self.chip = None
        elif op != "memory":
            return {"error": f"unknown op {op}"}
        chip = self.chip
        memory = None if chip is None else (chip.ndef_file if isinstance(chip, Ntag424) else chip.memory)
        return {"memory": memory.hex() if memory is not None else None, "commands": chip.commands if chip else 0,
                "state": chip.state if chip else None, "polls": self.polls,
                "served": chip.served.hex() if isinstance(chip, Ntag424) else None,
                "counter": chip.sdm.counter if isinstance(chip, Ntag424) and chip.sdm else None,
                "chip": ({"uid": chip.uid.hex(), "keys": [k.hex() for k in chip.keys], "sdm": chip.sdm.__dict__ if chip.sdm else None,
                          "writable": chip.writable} if isinstance(chip, Ntag424) else None)}

    def serve(self) -> None:
        stdin = sys.stdin
        while True:
            ready, _, _ = select.select([self.sock, stdin], [], [])
            if self.sock in ready:
                data, addr = self.sock.recvfrom(2048)
                self.datagram(data, addr)
            if stdin in ready:
                line = stdin.readline()
                if not line:
                    return
                print(json.dumps(self.control(line)), flush=True)


class NfcField:
    """The test's handle on a field process: ``present``, ``remove``, ``memory``, ``close``."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.device = f"udp:localhost:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.support.nfc_field", str(self.port)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._call({"op": "memory"})  # answers once the socket is bound

    def _call(self, cmd: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the simulated field stopped")
        return json.loads(line)

    def present(self, memory: bytes, model: str = "NTAG213", *, vanish_after: int | None = None) -> None:
        """A card comes into the field. ``vanish_after``: it is pulled away after answering so
        many commands (counted from its selection, GET_VERSION included)."""
        self._call({"op": "present", "model": model, "memory": memory.hex(), "vanish_after": vanish_after})

    def present_type4(self, chip: Ntag424, *, vanish_after: int | None = None) -> None:
        """An NTAG 424 DNA comes into the field (its SDM read counter carries on from ``chip``'s)."""
        self._call({"op": "present", "model": "NTAG424DNA", "uid": chip.uid.hex(), "memory": chip.ndef_file.hex(),
                    "sdm": chip.sdm.__dict__ if chip.sdm else None, "writable": chip.writable,
                    "keys": [k.hex() for k in chip.keys], "vanish_after": vanish_after})

    def served(self) -> bytes:
        """The NTAG 424 DNA's NDEF file as it was last read, mirrors filled in."""
        return bytes.fromhex(self._call({"op": "memory"})["served"] or "")

    def type4(self) -> Ntag424:
        """The NTAG 424 DNA in the field as it is now (memory, keys, SDM settings)."""
        found = self._call({"op": "memory"})
        state = found["chip"]
        return Ntag424(bytes.fromhex(state["uid"]), bytearray.fromhex(found["memory"]), Sdm(**state["sdm"]) if state["sdm"] else None,
                       state["writable"], [bytes.fromhex(k) for k in state["keys"]])

    def counter(self) -> int | None:
        """The NTAG 424 DNA's SDM read counter now."""
        return self._call({"op": "memory"})["counter"]

    def remove(self) -> None:
        self._call({"op": "remove"})

    def memory(self) -> bytes:
        found = self._call({"op": "memory"})["memory"]
        if found is None:
            raise RuntimeError("no card in the field")
        return bytes.fromhex(found)

    def commands(self) -> int:
        return int(self._call({"op": "memory"})["commands"])

    def wait_for_polls(self, timeout: float = 30.0) -> None:
        """Until a reader polls the empty field (it has seen the last card go)."""
        seen = int(self._call({"op": "memory"})["polls"])
        deadline = time.monotonic() + timeout
        while int(self._call({"op": "memory"})["polls"]) <= seen:
            if time.monotonic() > deadline:
                raise TimeoutError("no reader polled the field")
            time.sleep(0.005)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self) -> NfcField:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    Field(int(sys.argv[1])).serve()
