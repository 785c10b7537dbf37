"""systemd's notify protocol from the real gateway and agent processes, on a socket the test
owns: READY=1 only once the store and broker session (gateway) or the journal (agent) are
up, STATUS= lines, RELOADING=1 on SIGHUP, and WATCHDOG=1 only while healthy — it stops
while the store or journal is wedged by another process's lock, and comes back after."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.control import ControlClient
from tests.support.cli import ok
from tests.support.county import TestCounty
from tests.support.kiosk import KioskSetup
from tests.support.mosquitto import Mosquitto
from tests.support.notify import NotifySocket
from tests.support.venue import ROOT, GatewayProcess
from tests.unit.test_certificate import certificate

WATCHDOG_SECONDS = 1.0


@pytest.fixture
def notify() -> Iterator[NotifySocket]:
    sock = NotifySocket(Path(tempfile.mkdtemp(prefix="lc-n-")) / "notify")  # Unix paths are short
    yield sock
    sock.close()


def spawn(args: list[str], notify: NotifySocket, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNCARD_")}
    env.update(notify.env(WATCHDOG_SECONDS))
    with open(log, "ab") as handle:
        return subprocess.Popen([sys.executable, "-m", "learncard", "-v", *args], cwd=ROOT, env=env,
                                stdout=handle, stderr=handle, start_new_session=True)


def stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
    print(log.read_text(errors="replace")[-3000:])  # shown when the test fails


def reload_is_announced(notify: NotifySocket, proc: subprocess.Popen[bytes]) -> None:
    """SIGHUP (what `systemctl reload` sends): RELOADING=1, then READY=1 again."""
    before = time.monotonic()
    proc.send_signal(signal.SIGHUP)
    notify.wait_for("RELOADING", "1", since=before)
    notify.wait_for("READY", "1", since=before)


def wedge_and_release(notify: NotifySocket, database: Path, what: str, proc: subprocess.Popen[bytes]) -> None:
    """Hold ``database``'s write lock from another process until the service says it is
    unhealthy; no WATCHDOG=1 may come meanwhile; after the release the pings come back."""
    notify.wait_for("WATCHDOG", "1", since=time.monotonic(), alive=lambda: proc.poll() is None)
    holder = sqlite3.connect(database, isolation_level=None, timeout=30)
    holder.execute("BEGIN EXCLUSIVE")
    wedged = time.monotonic()
    try:
        notify.wait_for("STATUS", f"unhealthy: {what} not answering: *", since=wedged,
                        timeout=120, alive=lambda: proc.poll() is None)
        unhealthy = time.monotonic()
        # a check already past the store when the lock was taken may still ping once: allow 3 s
        late = [m for t, m in notify.messages if wedged + 3 <= t <= unhealthy and m.get("WATCHDOG") == "1"]
        assert [] == late
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    released = time.monotonic()
    notify.wait_for("WATCHDOG", "1", since=released, alive=lambda: proc.poll() is None)
    assert "running" == notify.wait_for("STATUS", "running", since=released)["STATUS"]


def test_gateway(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto, notify: NotifySocket) -> None:
    """READY only after the broker session is up; watchdog held back while the store is wedged; reload."""
    mosquitto.stop()
    gw = GatewayProcess(county, tmp_path / "gateway", mosquitto)
    proc = spawn(["gateway", "--config", str(gw.config), "run"], notify, tmp_path / "gateway.log")
    try:
        notify.wait_for("STATUS", "store open; connecting to the broker", alive=lambda: proc.poll() is None)
        assert [] == notify.seen("READY")
        mosquitto.start()
        ready = notify.wait_for("READY", "1", alive=lambda: proc.poll() is None)
        assert "ingesting: store open, broker session up" == ready["STATUS"]
        assert str(proc.pid) == ready["MAINPID"]
        wedge_and_release(notify, gw.folder / "gateway.sqlite3", "store", proc)
        reload_is_announced(notify, proc)
    finally:
        stop(proc, tmp_path / "gateway.log")


def test_agent(tmp_path: Path, county: TestCounty, notify: NotifySocket) -> None:
    """READY once the journal is open; watchdog held back while the journal is wedged; reload re-reads
    the county files in the state folder."""
    kiosk = KioskSetup(county, tmp_path / "kiosk")
    proc = spawn(["kiosk", "--config", str(kiosk.config_file), "agent"], notify, tmp_path / "agent.log")
    try:
        ready = notify.wait_for("READY", "1", alive=lambda: proc.poll() is None)
        assert ready["STATUS"].startswith("journal open; control socket ")
        assert kiosk.socket.exists()
        wedge_and_release(notify, tmp_path / "kiosk" / "state" / "journal.sqlite3", "journal", proc)
        kiosk.put_document(county.staff_roster([], version=5))  # as install-bundle would place it
        reload_is_announced(notify, proc)
        with ControlClient(kiosk.socket, timeout=10) as client:
            assert 5 == client.call("state")["health"]["staff_roster_version"]
    finally:
        stop(proc, tmp_path / "agent.log")


def test_agent_warns_of_its_certificate_sixty_days_ahead(tmp_path: Path, county: TestCounty,
                                                          notify: NotifySocket) -> None:
    """A TLS certificate with 30 days left: the unit's STATUS line and `kiosk status` tell staff."""
    kiosk = KioskSetup(county, tmp_path / "kiosk")
    cert = tmp_path / "kiosk-cert.pem"
    cert.write_bytes(certificate(datetime.now(UTC) + timedelta(days=30, hours=12)))
    kiosk.values["uplink"].update({"tls": True, "cert_file": str(cert)})
    kiosk.write()
    proc = spawn(["kiosk", "--config", str(kiosk.config_file), "agent"], notify, tmp_path / "agent.log")
    try:
        status = notify.wait_for("STATUS", "本机证书将在 30 天后到期*", alive=lambda: proc.poll() is None)
        assert "expires in 30 days" in status["STATUS"]
        assert "expires in 30 days: ask county IT to renew it" in ok("kiosk", "status", "--config",
                                                                     kiosk.config_file)
    finally:
        stop(proc, tmp_path / "agent.log")
