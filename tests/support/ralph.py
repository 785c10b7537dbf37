"""Ralph (France Université Numérique's LRS, `ralph-malph[lrs,cli]` from PyPI, a test tool
only) as its own process on a free loopback port, with its filesystem backend, unpatched.

What the unpatched filesystem backend can do, said plainly: it writes its statements file
once (a later POST of *new* statements fails with 500, "overwrite is not allowed"); a POST of
statements it holds already is answered 204 without writing. So a test gives each Ralph the
whole history in one batch; re-sends are then all-known batches, answered 204.

Ralph lives in a virtual environment of its own (``tests/lrs/ralph-venv``, made by
scripts/setup.sh), as the npm test LRS lives in ``tests/lrs/node_modules``: it pins its own
stack (click < 8.2.1, FastAPI, pydantic), which in the project's environment would hold back
the project's own libraries (sqlite-utils 4 needs a newer click).
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

from tests.support.ports import free_port, wait_listening

USER, PASSWORD = "lc", "secret"
VENV = Path(__file__).resolve().parents[1] / "lrs" / "ralph-venv"
PYTHON, RALPH = VENV / "bin" / "python", VENV / "bin" / "ralph"


def installed() -> bool:
    return PYTHON.exists() and RALPH.exists()


class Ralph:
    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="lc-ralph-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.env = {**os.environ, "RALPH_RUNSERVER_BACKEND": "fs", "RALPH_AUTH_FILE": str(self.folder / "auth.json"),
                    "RALPH_APP_DIR": str(self.folder / "app"),
                    "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(self.folder / "data")}

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/xAPI"

    def start(self) -> Ralph:
        subprocess.run([str(RALPH), "auth", "-u", USER, "-p", PASSWORD, "-s", "all", "-M", "mailto:lc@example.org",
                        "-w"], env=self.env, check=True, capture_output=True, timeout=120)
        log = open(self.folder / "ralph.log", "ab")  # noqa: SIM115 - the child keeps it
        # uvicorn directly: `ralph runserver` always runs uvicorn's reloader (a development server)
        self.proc = subprocess.Popen([str(PYTHON), "-m", "uvicorn", "ralph.api:app", "--host", "127.0.0.1",
                                      "--port", str(self.port)], env=self.env, stdout=log, stderr=log,
                                     cwd=self.folder, start_new_session=True)
        log.close()
        wait_listening(self.port, 60)
        return self

    def log(self) -> str:
        return (self.folder / "ralph.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
