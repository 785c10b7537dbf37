"""Writing a credential to an NFC tag through nfcpy: write, read back, verify the bytes —
success is reported only for a tag that reads back exactly what was written. A tag too small
for the credential is refused before anything is written, naming its type and the bytes
needed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from provisioning.errors import ProvisioningError
from records import card


class TagError(ProvisioningError):
    """The tag cannot take the credential, or did not read back what was written."""


@dataclass(frozen=True)
class Written:
    tag_type: str
    bytes_written: int
    capacity: int


def _targets(device: str) -> list[str]:
    return ["212F", "106A"] if device.startswith("udp") else ["106A", "106B", "212F"]


def _one_tag(clf: Any, device: str, action: Any, timeout: float) -> Any:
    started = time.monotonic()
    result: list[Any] = []

    def connected(tag: Any) -> bool:
        result.append(action(tag))
        return False  # done with this tag at once

    clf.connect(rdwr={"targets": _targets(device), "on-connect": connected},
                terminate=lambda: bool(result) or time.monotonic() - started > timeout)
    if not result:
        raise TagError(f"没有检测到卡片 / no tag on the writer within {timeout:.0f} s")
    if isinstance(result[0], Exception):
        raise result[0]
    return result[0]


def _lock(tag: Any) -> Any:
    """Make the tag read-only for good (lock bits; NTAG21x also its configuration pages)."""
    if not tag.protect():
        return TagError(f"{tag.type} 无法锁定 / this {tag.type} tag could not be locked")
    return None


def write_credential(device: str, credential: bytes, *, timeout: float = 30.0, lock: bool = False) -> Written:
    """Write ``credential`` (the COSE bytes) as the tag's NDEF message, read it back, compare.
    ``lock``: then set the tag's lock bits (it can never be written again) and check, read
    afresh, that it says read-only and still holds the credential."""
    import nfc

    message = card.to_ndef(credential)

    def write(tag: Any) -> Any:
        ndef = tag.ndef
        if ndef is None:
            return TagError(f"{tag.type} 不支持 NDEF / this {tag.type} tag is not NDEF formatted")
        if not ndef.is_writeable:
            return TagError(f"{tag.type} 是只读的 / this {tag.type} tag is read-only")
        if ndef.capacity < len(message):
            return TagError(f"{tag.type} 容量不足：需要 {len(message)} 字节，只有 {ndef.capacity} 字节 / "
                            f"this {tag.type} tag holds {ndef.capacity} bytes of NDEF, the credential needs "
                            f"{len(message)}")
        ndef.octets = message
        return Written(tag.type, len(message), ndef.capacity)

    with nfc.ContactlessFrontend(device) as clf:
        written = _one_tag(clf, device, write, timeout)
        time.sleep(0.1)
        read_back = _one_tag(clf, device, _octets, timeout)
        if read_back == message and lock:
            _one_tag(clf, device, _lock, timeout)
            time.sleep(0.1)
            read_back = _one_tag(clf, device, lambda tag: _octets(tag) if not tag.ndef.is_writeable else b"", timeout)
            if read_back != message:
                raise TagError("锁定后卡片仍可写入或内容改变 / after locking, the tag is still writable or changed")
    if read_back != message:
        raise TagError("写入后读出的内容不一致，请换一张卡 / "
                       "the tag did not read back what was written: use another tag")
    return written


def _octets(tag: Any) -> bytes:
    return bytes(tag.ndef.octets) if tag.ndef else b""


def write_sun_card(device: str, credential: bytes, master: bytes, county: str, *, timeout: float = 30.0) -> Written:
    """An NTAG 424 DNA as an anti-clone card (docs/cards.md): the NDEF written, then SDM and the
    county's keys set (``provisioning.ntag424``); read afresh, the card must show the
    credential and a SUN message that verifies with the county's keys."""
    import nfc

    from provisioning import ntag424
    from records import sun
    from records.errors import SunError

    message, picc_offset = ntag424.sun_ndef(credential)

    def write(tag: Any) -> Any:
        if tag.type != "Type4Tag":
            return TagError(f"{tag.type} 不是 NTAG 424 DNA / a {tag.type} cannot carry a SUN message")
        ndef = tag.ndef
        if ndef is None or not ndef.is_writeable:
            return TagError("这张卡已经个性化或只读 / this card is already personalised or read-only")
        if ndef.capacity < len(message):
            return TagError(f"容量不足 / the card holds {ndef.capacity} bytes, the card needs {len(message)}")
        ndef.octets = message
        ntag424.personalise(ntag424.nfcpy_exchange(tag), bytes(tag.identifier), master, county, picc_offset)
        return Written(tag.type, len(message), ndef.capacity)

    with nfc.ContactlessFrontend(device) as clf:
        written = _one_tag(clf, device, write, timeout)
        time.sleep(0.1)
        read_back = _one_tag(clf, device, _octets, timeout)
    found = sun.find_in_ndef(read_back)
    if found is None or card.from_ndef(read_back) != credential:
        raise TagError("写入后读出的内容不一致 / the card did not read back what was written")
    try:
        sun.verify(found, master, county)
    except SunError as err:
        raise TagError("卡片的 SUN 校验失败 / the card's SUN message does not verify: "
                       "personalisation failed") from err
    return written
