"""NFC learning cards through nfcpy: Type 2 (NTAG213/215/216), Type 3 (FeliCa) and Type 4 tags.

The reader hands the agent the tag's whole NDEF message; the chip's UID is never used as
identity and never logged. One tap is one read: after a read the reader waits until the
card is taken away. An unplugged or missing reader is reported (state ``error``) and opened
again with a growing delay until it comes back.

Devices (``[readers].nfc_device``): ``usb`` (the first supported USB reader, e.g. a Sony
RC-S380), ``usb:054c:06c3``, ``tty:USB0:pn532`` (a PN532 on a serial adapter), and
``udp:localhost:<port>`` (nfcpy's simulated frontend, for tests). The ACR122U is known to
misbehave with nfcpy (its firmware polls by itself and fights the host): see docs/readers.md.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kiosk.reader.base import CONNECTING, ERROR, READY, CardRead, Emit, ReportStatus

log = logging.getLogger(__name__)

ALL_TARGETS = ["106A", "106B", "212F"]
UNPLUGGED = "读卡器未连接，请检查连线 / the card reader is unplugged: check its cable"
# Seconds between polls while no card is there. nfcpy's default is 0.5 s; a real reader's
# poll with no card costs a few milliseconds, so polling every 50 ms costs little and a
# card is seen within 50 ms of arriving.
POLL_INTERVAL = 0.05


def targets_for(device: str) -> list[str]:
    """What to poll for. On nfcpy's simulated ``udp`` device: FeliCa (its own tag emulation)
    first, then ISO 14443-A (NTAG21x cards in a simulated field); 106B is left out there
    because nothing on that device answers it, and each unanswered poll waits a second."""
    return ["212F", "106A"] if device.startswith("udp") else ALL_TARGETS


READ_ATTEMPTS = 3


def ndef_of(tag: Any) -> bytes | None:
    """The NDEF message of a tag of any type: ``b""`` when it has none (or holds it behind a
    password), None when the card left the reader before it was read whole.

    nfcpy answers a read that failed on the air (a command timed out) the same way as a tag
    without NDEF: ``tag.ndef`` is None, and asking again reads again. So a tag that seems
    blank is read up to READ_ATTEMPTS times, and then asked whether it is still there."""
    for _ in range(READ_ATTEMPTS):
        try:
            ndef = tag.ndef
        except Exception as err:  # nfcpy raises many kinds on a card moved away mid-read  # noqa: BLE001
            log.info("a %s tag could not be read whole: %s", getattr(tag, "type", "?"), type(err).__name__)
            return None
        if ndef is not None:
            if not ndef.is_readable:
                log.info("a %s tag keeps its NDEF behind a password", getattr(tag, "type", "?"))
                return b""
            return bytes(ndef.octets)
    return b"" if still_there(tag) else None


def still_there(tag: Any) -> bool:
    try:
        return bool(tag.is_present)
    except Exception:  # noqa: BLE001 - a vanished tag may fail in any of nfcpy's ways
        return False


class NfcReader:
    name = "nfc"

    def __init__(self, device: str = "usb", *, frontend: Callable[[str], Any] | None = None,
                 retry_first: float = 1.0, retry_most: float = 30.0, poll_interval: float = POLL_INTERVAL,
                 targets: list[str] | None = None) -> None:
        self.device = device
        self.targets = targets or targets_for(device)
        self.poll_interval = poll_interval
        self._frontend = frontend
        self.retry_first = retry_first
        self.retry_most = retry_most

    def open(self) -> Any:
        if self._frontend is not None:
            return self._frontend(self.device)
        import nfc

        return nfc.ContactlessFrontend(self.device)

    def on_connect(self, emit: Emit) -> Callable[[Any], bool]:
        def connected(tag: Any) -> bool:
            ndef = ndef_of(tag)
            if ndef is None:
                log.info("a %s card left the reader before it was read whole", getattr(tag, "type", "?"))
            emit(CardRead(how="nfc", reader=self.name, ndef=ndef or b"", torn=ndef is None))
            return True  # keep the tag until it is taken away: one tap, one read

        return connected

    def run(self, emit: Emit, status: ReportStatus, stop: threading.Event) -> None:
        delay = self.retry_first
        while not stop.is_set():
            status(self.name, CONNECTING, self.device)
            try:
                clf = self.open()
            except (OSError, ValueError) as err:
                log.warning("NFC reader %s cannot be opened: %s", self.device, err)
                status(self.name, ERROR, UNPLUGGED)
                stop.wait(delay)
                delay = min(self.retry_most, delay * 2)
                continue
            delay = self.retry_first
            status(self.name, READY, "")
            try:
                while not stop.is_set():
                    done = clf.connect(rdwr={"targets": self.targets, "on-connect": self.on_connect(emit),
                                             "interval": self.poll_interval}, terminate=stop.is_set)
                    if done is None and not stop.is_set():
                        raise OSError("the reader stopped answering")
            except (OSError, ValueError) as err:
                log.warning("NFC reader %s lost: %s", self.device, err)
                status(self.name, ERROR, UNPLUGGED)
                stop.wait(delay)
            finally:
                try:
                    clf.close()
                except Exception:  # noqa: BLE001, S110 - closing a vanished device may fail
                    pass


def from_config(section: dict[str, Any]) -> NfcReader:
    return NfcReader(str(section["nfc_device"]), poll_interval=int(section.get("nfc_poll_ms", 50)) / 1000)
