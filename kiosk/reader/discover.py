"""What readers are plugged into this machine, for a technician checking a new kiosk
(``learncard kiosk readers test``): NFC readers nfcpy has a driver for (USB, and serial ports
a PN532 may sit on), cameras, keyboard-like input devices (code scanners). Each line says
the device string to put in the kiosk's configuration, and when the agent's user could not
open it, why."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass

# nfcpy's USB drivers (nfc/clf/device.py), with the products' names
NFC_USB = {
    (0x054C, 0x06C1): "Sony RC-S380/S",
    (0x054C, 0x06C3): "Sony RC-S380/P",
    (0x054C, 0x02E1): "Sony RC-S330/360/370",
    (0x072F, 0x2200): "ACS ACR122U (works poorly with nfcpy: see docs/readers.md)",
    (0x04CC, 0x2533): "NXP PN533 board",
    (0x04E6, 0x5591): "SCM SCL3711",
    (0x04E6, 0x5593): "SCM SCL3712",
    (0x054C, 0x0193): "Sony PN531",
    (0x04CC, 0x0531): "Philips PN531 / SCM SCL3710",
}
SERIAL_PORTS = ("/dev/ttyUSB*", "/dev/ttyACM*", "/dev/ttyAMA0", "/dev/ttyS0")


@dataclass(frozen=True)
class Found:
    kind: str  # nfc, camera, scanner
    device: str  # the string for the kiosk's configuration
    what: str
    problem: str = ""  # e.g. the agent's user may not open it


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return ""


def _access(path: str) -> str:
    return "" if os.access(path, os.R_OK | os.W_OK) else f"{path}: no read/write access (udev rules installed?)"


def nfc_usb(sysfs: str = "/sys/bus/usb/devices") -> list[Found]:
    found = []
    for dev in sorted(glob.glob(f"{sysfs}/*")):
        vid, pid = _read(f"{dev}/idVendor"), _read(f"{dev}/idProduct")
        if not vid or not pid:
            continue
        name = NFC_USB.get((int(vid, 16), int(pid, 16)))
        if name is None:
            continue
        bus, num = int(_read(f"{dev}/busnum") or 0), int(_read(f"{dev}/devnum") or 0)
        node = f"/dev/bus/usb/{bus:03d}/{num:03d}"
        driver = os.path.basename(os.path.realpath(f"{dev}/driver")) if os.path.exists(f"{dev}/driver") else ""
        bound = [os.path.basename(os.path.realpath(p)) for p in glob.glob(f"{dev}/*:*/driver")]
        problem = _access(node)
        if {"port100", "pn533_usb"} & set(bound + [driver]):
            problem = "the kernel's NFC driver holds it: install the modprobe blacklist (docs/readers.md)"
        found.append(Found("nfc", f"usb:{vid}:{pid}", name, problem))
    return found


def serial_ports() -> list[Found]:
    ports = sorted({p for pattern in SERIAL_PORTS for p in glob.glob(pattern)})
    return [Found("nfc", f"tty:{p.removeprefix('/dev/tty')}:pn532", "a serial port (a PN532 in HSU mode?)",
                  _access(p)) for p in ports]


def cameras() -> list[Found]:
    stable = sorted(glob.glob("/dev/v4l/by-id/*-video-index0"))
    if stable:
        return [Found("camera", p, os.path.basename(p), _access(p)) for p in stable]
    return [Found("camera", p, _read(f"/sys/class/video4linux/{os.path.basename(p)}/name") or "camera", _access(p))
            for p in sorted(glob.glob("/dev/video*"))]


def scanners() -> list[Found]:
    return [Found("scanner", p, os.path.basename(p), _access(p))
            for p in sorted(glob.glob("/dev/input/by-id/*-event-kbd"))]


def everything() -> list[Found]:
    return nfc_usb() + serial_ports() + cameras() + scanners()
