"""The units in systemd/ pass `systemd-analyze verify` (in a scratch root that holds the
binaries they start) and score within the issue's limits on `systemd-analyze security
--offline=yes`; they are Type=notify with a watchdog, reload with SIGHUP, use absolute
paths under /etc/learncard and /var/lib/learncard, and allow only the devices they need."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "systemd"
LIMITS = {"learncard-gateway.service": 2.5, "learncard-agent.service": 4.0, "learncard-ui.service": 4.0}
# readers (USB, serial, HID, input), camera (v4l2), receipt printer (usblp), sound, panel, tty1
ALLOWED_DEVICES = {"char-usb_device", "char-ttyUSB", "char-ttyACM", "char-input", "char-hidraw",
                   "char-video4linux", "char-usb", "char-alsa", "char-drm", "/dev/tty1", "/dev/tty0"}

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")


def settings(unit: str) -> list[tuple[str, str]]:
    lines = (UNITS / unit).read_text().splitlines()
    return [tuple(line.split("=", 1)) for line in lines if "=" in line and not line.startswith("#")]  # type: ignore[misc]


def values(unit: str, key: str) -> list[str]:
    return [v for k, v in settings(unit) if k == key]


def scratch_root(folder: Path) -> Path:
    """What a kiosk or gateway host has: systemd's own units, /bin/kill, cage, and the
    installed learncard (stubs: verify checks they exist and are executable)."""
    root = folder / "root"
    (root / "usr/lib/systemd").mkdir(parents=True)
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    for binary in ("opt/learncard/bin/learncard", "usr/bin/cage", "bin/kill"):
        path = root / binary
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    for unit in LIMITS:
        shutil.copy(UNITS / unit, root / "etc/systemd/system" / unit)
    return root


def test_every_unit_is_checked() -> None:
    """The limits name every unit in systemd/ (a new unit must be scored too)."""
    assert set(LIMITS) == {p.name for p in UNITS.glob("*.service")}


def test_verify_passes_in_a_scratch_root(tmp_path: Path) -> None:
    """`systemd-analyze verify` finds nothing to say about any unit."""
    root = scratch_root(tmp_path)
    done = subprocess.run(["systemd-analyze", "verify", f"--root={root}", *LIMITS], capture_output=True,
                          text=True, timeout=120, check=False)
    assert (0, "", "") == (done.returncode, done.stdout, done.stderr)


def test_verify_fails_without_the_installed_binary(tmp_path: Path) -> None:
    """The same check fails when /opt/learncard is not installed (so the test above can fail)."""
    root = scratch_root(tmp_path)
    (root / "opt/learncard/bin/learncard").unlink()
    done = subprocess.run(["systemd-analyze", "verify", f"--root={root}", "learncard-gateway.service"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert 0 != done.returncode
    assert "/opt/learncard/bin/learncard is not executable" in done.stderr


@pytest.mark.parametrize("unit", sorted(LIMITS))
def test_security_score(unit: str) -> None:
    """systemd-analyze security --offline=yes: gateway ≤ 2.5, agent and UI ≤ 4.0."""
    done = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(UNITS / unit)],
                          capture_output=True, text=True, timeout=120, check=False)
    found = re.search(rf"Overall exposure level for {re.escape(unit)}: (\d+\.\d+)", done.stdout)
    assert found, done.stdout + done.stderr
    assert float(found.group(1)) <= LIMITS[unit], done.stdout


@pytest.mark.parametrize("unit", ["learncard-gateway.service", "learncard-agent.service"])
def test_services_notify_watch_and_reload(unit: str) -> None:
    """Type=notify from the main process, a watchdog, and reload by SIGHUP."""
    assert ["notify"] == values(unit, "Type")
    assert ["main"] == values(unit, "NotifyAccess")
    assert values(unit, "WatchdogSec")
    assert ["/bin/kill -HUP $MAINPID"] == values(unit, "ExecReload")


@pytest.mark.parametrize("unit", sorted(LIMITS))
def test_paths_are_absolute_and_devices_few(unit: str) -> None:
    """ExecStart names absolute paths and an /etc/learncard file; DeviceAllow only readers,
    camera, printer, sound and the panel, under DevicePolicy=closed."""
    (start,) = values(unit, "ExecStart")
    assert all(w.startswith("/") for w in start.split() if "/" in w)
    assert re.search(r"--config /etc/learncard/\w+\.toml", start)
    assert ["closed"] == values(unit, "DevicePolicy")
    allowed = {v.split()[0] for v in values(unit, "DeviceAllow")}
    assert allowed <= ALLOWED_DEVICES
