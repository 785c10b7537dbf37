"""The kiosk agent as a kiosk runs it, for the benchmarks that measure its memory or put the
touchscreen in front of it: ``learncard kiosk agent`` in a process of its own, its uplink
sending every record to a real broker and a gateway process, the NFC, keyboard-wedge and
camera readers loaded (their devices absent here: each reader waits and retries, as on a
kiosk with a reader unplugged)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.county import TestCounty
from tests.support.kiosk import KioskSetup

ROOT = Path(__file__).resolve().parent.parent


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class RunningAgent:
    setup: KioskSetup
    proc: subprocess.Popen[bytes]
    gateway: object  # tests.support.venue.GatewayProcess

    def rss_mb(self) -> float:
        return rss_mb(self.proc.pid)

    def stored(self) -> int:
        return int(self.gateway.count())  # type: ignore[attr-defined]


@contextmanager
def kiosk_agent(county: TestCounty, folder: Path, *, trust_rtc: bool = False) -> Iterator[RunningAgent]:
    """``trust_rtc``: the kiosk trusts its clock at once (a touchscreen in front of it otherwise
    rightly shows 暂停使用 until the clock is confirmed)."""
    from tests.support.mosquitto import Mosquitto
    from tests.support.venue import GatewayProcess, kiosk_online

    broker = Mosquitto(folder / "broker").start()
    gateway = GatewayProcess(county, folder / "gateway", broker).start()
    setup = kiosk_online(county, folder / "kiosk", broker)
    setup.values["readers"] = {"enabled": ["nfc", "hid", "camera"], "nfc_device": "udp:localhost:9",
                               "hid_device": str(folder / "no-scanner"), "camera_device": 9}
    if trust_rtc:
        setup.set("kiosk", "trust_rtc", True)
    setup.write()
    proc = subprocess.Popen([sys.executable, "-m", "learncard", "kiosk", "--config", str(setup.config_file),
                             "agent"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not setup.socket.exists():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the agent did not start")
            time.sleep(0.05)
        yield RunningAgent(setup, proc, gateway)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        gateway.kill()
        broker.kill()
