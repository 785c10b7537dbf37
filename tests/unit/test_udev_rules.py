"""The udev rules shipped for the kiosk cover exactly the USB readers nfcpy has drivers for,
with the group the agent's service joins."""

from __future__ import annotations

import re
from pathlib import Path

from nfc.clf.device import usb_device_map

from kiosk.reader.discover import NFC_USB

ROOT = Path(__file__).resolve().parents[2]
RULE = re.compile(r'ATTR\{idVendor\}=="([0-9a-f]{4})", ATTR\{idProduct\}=="([0-9a-f]{4})", MODE="0660", '
                  r'GROUP="plugdev"')


def test_every_nfcpy_usb_reader_has_a_rule_and_a_name() -> None:
    text = (ROOT / "udev" / "60-learncard-readers.rules").read_text()
    ruled = {(int(v, 16), int(p, 16)) for v, p in RULE.findall(text)}
    nfcpy = set(usb_device_map) - {(0x054C, 0x0193), (0x04CC, 0x0531)}  # PN531: long out of production
    assert nfcpy == ruled
    assert set(usb_device_map) == set(NFC_USB)


def test_the_agent_joins_the_groups_the_rules_use() -> None:
    unit = (ROOT / "systemd" / "learncard-agent.service").read_text()
    groups = re.search(r"^SupplementaryGroups=(.*)$", unit, re.M)
    assert groups is not None
    assert {"plugdev", "dialout", "video", "input"} <= set(groups.group(1).split())


def test_the_kernel_drivers_that_would_claim_the_readers_are_blacklisted() -> None:
    text = (ROOT / "udev" / "learncard-nfc-blacklist.conf").read_text()
    assert {"port100", "pn533_usb"} <= set(re.findall(r"^blacklist (\S+)$", text, re.M))
