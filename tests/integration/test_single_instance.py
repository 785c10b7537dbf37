"""Issue 11: a second agent or gateway on the same state exits with a clear message and
touches nothing (before: the second agent unlinked the first one's socket; two gateways with
one client id knocked each other off the broker every 2 s)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from kiosk.control import ControlClient
from kiosk.errors import KioskError
from tests.support.county import TestCounty
from tests.support.kiosk import KioskSetup
from tests.support.mosquitto import Mosquitto
from tests.support.venue import ROOT, GatewayProcess, wait_until


def learncard(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "learncard", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)


def answers(socket: Path) -> bool:
    try:
        with ControlClient(socket, timeout=5) as c:
            return "health" in c.call("state")
    except (OSError, KioskError):
        return False


def test_second_agent_exits_and_leaves_the_first_alone(tmp_path: Path, county: TestCounty) -> None:
    setup = KioskSetup(county, tmp_path / "kiosk")
    log = open(tmp_path / "agent.log", "wb")  # noqa: SIM115 - the child keeps it
    first = subprocess.Popen([sys.executable, "-m", "learncard", "kiosk", "--config", str(setup.config_file),
                              "agent"], cwd=ROOT, stdout=log, stderr=log, start_new_session=True)
    try:
        wait_until("the first agent's socket", lambda: answers(setup.socket), 60)
        inode = setup.socket.stat().st_ino
        second = learncard("kiosk", "--config", str(setup.config_file), "agent")
        assert second.returncode != 0
        assert "another kiosk agent" in second.stderr and "另一个终端程序" in second.stderr
        assert str(first.pid) in second.stderr  # names the one that holds the state
        assert inode == setup.socket.stat().st_ino  # the first one's socket, not unlinked or replaced
        assert answers(setup.socket)
        assert first.poll() is None
    finally:
        first.terminate()
        first.wait(timeout=30)
        log.close()
    # the lock goes with its process: the next agent starts
    with setup.running():
        assert answers(setup.socket)


def test_second_gateway_exits_and_leaves_the_first_connected(tmp_path: Path, county: TestCounty,
                                                              mosquitto: Mosquitto) -> None:
    gateway = GatewayProcess(county, tmp_path / "gateway", mosquitto).start()
    log = tmp_path / "gateway" / "gateway.log"
    try:
        wait_until("the first gateway to connect", lambda: b"gateway connected" in log.read_bytes(), 60)
        store = tmp_path / "gateway" / "gateway.sqlite3"
        before = {p.name: p.stat().st_mtime_ns for p in store.parent.glob("gateway.sqlite3*")}
        second = learncard("-v", "gateway", "--config", str(gateway.config), "run")
        assert second.returncode != 0
        assert "another gateway" in second.stderr and "另一个网关" in second.stderr
        time.sleep(3)  # two gateways with one client id took turns on the broker every 2 s
        text = log.read_text()
        assert 1 == text.count("gateway connected to the broker")
        assert "lost the broker" not in text
        after = {p.name: p.stat().st_mtime_ns for p in store.parent.glob("gateway.sqlite3*")}
        assert before == after  # the second opened nothing
        assert gateway.proc is not None and gateway.proc.poll() is None
    finally:
        gateway.stop()
    again = gateway.start()  # a clean stop released the lock
    try:
        wait_until("a new gateway to connect", lambda: 2 == log.read_text().count("gateway connected"), 60)
    finally:
        again.kill()
