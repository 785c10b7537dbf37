"""`learncard kiosk agent` as its own process on a driven clock (``kiosk.driven_clock``),
for the programme's real-process scenarios: start, stop (SIGTERM or SIGKILL: a power cut),
drive the clock, tap."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from datetime import datetime

from kiosk.control import ControlClient
from kiosk.errors import ControlError
from records.record import Record, parse_unverified
from tests.support.county import TestCounty
from tests.support.kiosk import KioskSetup
from tests.support.venue import ROOT, GatewayProcess, wait_until


class DrivenAgent:
    """`learncard kiosk agent` as its own process, on a driven clock."""

    def __init__(self, setup: KioskSetup, start: str) -> None:
        self.setup = setup
        self.proc: subprocess.Popen[bytes] | None = None
        self.client: ControlClient | None = None
        self.now = start  # RFC 3339, the venue's offset

    def start(self) -> DrivenAgent:
        self.setup.set("kiosk", "driven_clock", self.now)
        log = open(self.setup.folder / "agent.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen([sys.executable, "-m", "learncard", "-v", "kiosk", "--config",
                                      str(self.setup.config_file), "agent"], cwd=ROOT, stdout=log, stderr=log,
                                     start_new_session=True)
        log.close()
        wait_until("the agent's socket", self._connect, 60)
        return self

    def _connect(self) -> bool:
        try:
            self.client = ControlClient(self.setup.socket, timeout=20)
            self.client.call("state")
        except ControlError:
            assert self.proc is not None and self.proc.poll() is None, "the agent stopped: see agent.log"
            return False
        return True

    def call(self, op: str, **args: object) -> dict:
        assert self.client is not None
        return self.client.call(op, **args)

    def go(self, hhmm: str, day: str = "2026-11-23", step_minutes: int = 5) -> None:
        """Drive the clock forward to ``day hh:mm`` (local, +08:00) in steps of at most
        ``step_minutes``, as the agent's tick would see it: what falls due is done on time."""
        target = datetime.fromisoformat(f"{day}T{hhmm}:00+08:00")
        while (left := int((target - datetime.fromisoformat(self.now)).total_seconds())) > 0:
            self.now = self.call("clock.advance", seconds=min(left, step_minutes * 60))["now"]
        assert left == 0, f"the clock is past {day} {hhmm}"

    def tap(self, county: TestCounty, cred: object) -> str:
        return self.call("tap", text=county.qr(cred))["outcome"]

    def stop(self, how: int) -> None:
        assert self.proc is not None
        if self.client is not None:
            self.client.close()
            self.client = None
        os.killpg(self.proc.pid, how)
        self.proc.wait(timeout=30)


def stored_after_drain(gateway: GatewayProcess, agents: list[DrivenAgent]) -> list[Record]:
    """Every record in the gateway's store once every agent's outbox is empty."""
    for agent in agents:
        wait_until("the outbox to drain", lambda a=agent: a.call("state")["health"]["pending"] == 0, 180)
    store = gateway.store()
    try:
        return [parse_unverified(token) for token in store.tokens()]
    finally:
        store.close()


def credited(recs: list[Record], name_of: dict[str, str]) -> dict[str, dict[tuple[str, str], int]]:
    """learner name → {(day of the check-in, course id or "self-study"): minutes credited};
    one check-out per learner, day and course."""
    sessions = {r.data["session_id"]: r.data for r in recs if r.type == "session.opened"}
    got: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    for r in recs:
        if r.type == "attendance.checkout":
            session = sessions.get(r.data["session_id"])
            key = (r.data["checkin_time"][:10], session["course_id"] if session else "self-study")
            assert key not in got[name_of[r.data["learner"]]], "one attendance per learner, day and course"
            got[name_of[r.data["learner"]]][key] = r.data["minutes_credited"]
    return dict(got)
