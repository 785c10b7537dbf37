"""County IT enrols a kiosk with the real `learncard provision enroll` while the county's
broker (TLS, ACL), gateway and another kiosk run, and follows the command's printed advice
literally: the new kiosk's first taps are stored, none rejected (issue 11, audit)."""

from __future__ import annotations

import signal
import sqlite3
import tomllib
from pathlib import Path

from kiosk.control import ControlClient
from learncard.demo.processes import Processes, wait_for
from learncard.demo.venue import VENUE, VENUE_NAME, open_venue, start_agent


def test_kiosk_enrolled_with_provision_while_everything_runs(tmp_path: Path) -> None:
    with Processes(tmp_path) as processes, open_venue(tmp_path, processes) as venue:
        port = tomllib.loads((venue.kiosk_dir / "kiosk.toml").read_text())["uplink"]["port"]
        second = tmp_path / "kiosk-two"
        printed = processes.run("provision-enroll-two", [
            "provision", "--home", str(venue.home.path), "enroll", "--generate", "--kiosk", "k-demo-2",
            "--venue", VENUE, "--venue-name", VENUE_NAME, "--readers", "simulated", "--level", "township-school",
            "--out", str(second), "--broker-host", "localhost", "--broker-port", str(port)])
        assert "reload the broker (SIGHUP)" in printed, printed  # the advice county IT follows
        (broker,) = [c for c in processes.children if c.name == "mosquitto"]
        broker.popen.send_signal(signal.SIGHUP)
        agent, socket = start_agent(processes, "kiosk-agent-two", second, debounce_seconds=0, timeout=60)
        with ControlClient(socket) as client:
            result = client.call("tap", text=venue.cards.residents[0][1])
            assert "checkin" == result["outcome"], result
            wait_for("the tap settled", lambda: client.call("state")["health"]["pending"] == 0, 120, agent)
            assert 0 == client.call("state")["health"]["rejected"]
        with sqlite3.connect(venue.store) as db:
            stored = db.execute("SELECT id FROM records WHERE kiosk = 'k-demo-2' AND type = 'attendance.checkin'"
                                ).fetchall()
            rejected = db.execute("SELECT count(*) FROM rejected").fetchone()[0]
        assert ([(result["record_id"],)], 0) == (stored, rejected)
        assert "loaded registry version" in venue.gateway.log.read_text()
