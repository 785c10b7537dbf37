"""The test LRS: Learning Locker's statement service (npm `xapi-statements`, GPL-3: a test
tool, installed by scripts/setup.sh into tests/lrs, never shipped), in memory, as its own
process on a free loopback port. The demo and the tests start it."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

from learncard.demo.processes import free_port, port_open, wait_for

ROOT = Path(__file__).resolve().parents[2]
ENTRY = ROOT / "tests" / "lrs" / "node_modules" / "xapi-statements" / "dist" / "index.js"


def installed() -> bool:
    return ENTRY.exists()


class Lrs:
    def __init__(self, port: int | None = None) -> None:
        if not installed():
            raise RuntimeError(f"the test LRS is not installed ({ENTRY}): run scripts/setup.sh")
        self.port = port or free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="lc-lrs-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/xAPI"

    def start(self) -> Lrs:
        env = {**os.environ, "EXPRESS_PORT": str(self.port), "AUTH_REPO": "test", "EVENTS_REPO": "test",
               "MODELS_REPO": "memory", "STORAGE_REPO": "local", "FS_LOCAL_STORAGE_DIR": str(self.folder),
               "SERVICE_AWAIT_UPDATES": "true", "LOG_LEVEL": "error"}
        log = open(self.folder / "lrs.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(["node", str(ENTRY)], env=env, stdout=log, stderr=log, cwd=self.folder,
                                     start_new_session=True)  # its access logs go under cwd
        log.close()
        wait_for("the test LRS", port_open(self.port), 30)
        return self

    def stop(self) -> None:
        """Stop it (an in-memory LRS forgets everything: use pause/resume for "down a while")."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def pause(self) -> None:
        """The LRS stops answering (SIGSTOP): connections hang, as with a dead network."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGCONT)
