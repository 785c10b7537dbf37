"""The readers a county chooses for a kiosk, as the ``[readers]`` section of its
configuration bundle (``provision enroll --readers …``)."""

from __future__ import annotations

from typing import Any

from provisioning.errors import ProvisioningError

READERS = ("nfc", "camera", "hid", "simulated")


def readers_section(readers: str, *, nfc_device: str, camera_source: str, hid_device: str) -> dict[str, Any]:
    """``readers``: comma-separated names. A code scanner needs its device path (its
    ``/dev/input/by-id/…-event-kbd``: each model names itself)."""
    chosen = [name.strip() for name in readers.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in READERS]
    if not chosen or unknown:
        raise ProvisioningError(f"读卡器名称不对 / --readers: {', '.join(unknown) or 'none given'} — choose from "
                                f"{', '.join(READERS)}")
    if "hid" in chosen and not hid_device:
        raise ProvisioningError("扫码枪需要设备路径 / --readers hid needs --hid-device /dev/input/by-id/…-event-kbd")
    section: dict[str, Any] = {"enabled": chosen, "nfc_device": nfc_device}
    if camera_source:
        section["camera_source"] = camera_source
    if hid_device:
        section["hid_device"] = hid_device
    return section
