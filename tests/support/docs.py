"""The shell commands written in README.md and docs/*.md, and a runner that runs them as
written, in a scratch machine of their own.

A block is a fenced code block tagged ``sh``, ``bash``, ``shell`` or ``console``. A block
with a line ``# illustrative`` (``# illustrative: why``) is not run — its ``learncard``
commands are still parsed against the real command tree; every other block is run, line by
line, each command by ``bash`` (a line ending in ``\\`` continues on the next).

What "as written" means, in a test: ``~`` is a scratch home (and the folder commands run
in); a path starting with ``/etc/``, ``/var/`` or ``/run/`` is moved under a scratch root
(what ``learncard install`` makes on a real machine); ``learncard`` is this checkout's; the
broker port ``8883`` is a free one; the agent's control socket and the gateway's metrics
port are moved by ``LEARNCARD_…`` variables. A command ending in ``&`` is a service:
``learncard`` ones are waited for until they send ``READY=1`` on a notify socket the test
owns, ``mosquitto`` until its port listens; all are stopped (SIGTERM) at the end.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.notify import NotifySocket
from tests.support.ports import free_port, wait_listening

REPO = Path(__file__).resolve().parents[2]
SHELLS = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^```(\w*)\s*$")
ILLUSTRATIVE = re.compile(r"^\s*#\s*illustrative\b")
SYSTEM_PATH = re.compile(r"(?<![\w.~$/-])/(etc|var|run)/")
BROKER_PORT = "8883"
TRAILING_COMMENT = re.compile(r"\s+#\s[^'\"]*$")


@dataclass
class Block:
    file: Path
    line: int
    lines: list[str]
    setup: bool = False  # README's opening block: the two set-up commands .ci/run runs (and the demo test)

    @property
    def name(self) -> str:
        return f"{self.file.relative_to(REPO)}:{self.line}"

    @property
    def illustrative(self) -> bool:
        return self.setup or any(ILLUSTRATIVE.match(line) for line in self.lines)

    def commands(self) -> list[str]:
        out: list[str] = []
        pending = ""
        for raw in self.lines:
            line = raw.rstrip()
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            line = pending + line
            pending = ""
            if line.strip() and not line.strip().startswith("#"):
                out.append(line.strip())
        return out


def shell_blocks(path: Path) -> list[Block]:
    blocks: list[Block] = []
    current: Block | None = None
    inside = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fence = FENCE.match(line)
        if fence and not inside:
            inside = True
            current = Block(path, number, []) if fence.group(1) in SHELLS else None
            if current is not None and path.name == "README.md" and not blocks:
                current.setup = True  # not run here: running the whole suite inside a test of it
        elif line.startswith("```") and inside:
            inside = False
            if current is not None:
                blocks.append(current)
            current = None
        elif inside and current is not None:
            current.lines.append(line)
    return blocks


def documents() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def learncard_args(command: str) -> list[list[str]]:
    """The argument lists of every ``learncard`` invocation in a command line (pipes, ``&&``
    and ``$(…)`` split it; shell comments dropped)."""
    words = shlex.split(command.replace("$(", " ; ").replace(")", " ; "), comments=True)
    found: list[list[str]] = []
    current: list[str] | None = None
    for word in words:
        if word in ("|", "||", "&&", ";", "&", ">", "<") or word.endswith(";"):
            current = None
            continue
        if word in ("learncard", ".venv/bin/learncard"):
            current = []
            found.append(current)
        elif current is not None:
            current.append(word)
    return found


@dataclass
class Machine:
    """A scratch home and root where one document's blocks run, in order."""

    folder: Path
    home: Path = field(init=False)
    root: Path = field(init=False)
    broker_port: int = field(default_factory=free_port)
    services: list[tuple[str, subprocess.Popen[bytes], Path]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.home = self.folder / "home"
        self.root = self.folder / "root"
        for path in (self.home, self.root, self.folder / "bin"):
            path.mkdir(parents=True, exist_ok=True)
        shim = self.folder / "bin" / "learncard"
        shim.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m learncard \"$@\"\n")
        shim.chmod(0o755)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNCARD_", "NOTIFY_SOCKET", "WATCHDOG"))}
        env.update({
            "HOME": str(self.home), "PATH": f"{self.folder / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}",
            "PYTHONPATH": str(REPO), "LEARNCARD_CONTROL__SOCKET": str(self.folder / "agent.sock"),
            "LEARNCARD_GATEWAY__METRICS_PORT": str(free_port()),
        })
        return env

    def rewrite(self, command: str) -> str:
        command = SYSTEM_PATH.sub(lambda m: f"{self.root}/{m.group(1)}/", command)
        return re.sub(rf"\b{BROKER_PORT}\b", str(self.broker_port), command)

    def run(self, command: str, where: str) -> str:
        text = TRAILING_COMMENT.sub("", self.rewrite(command))
        if text.endswith("&"):
            self.start(text[:-1].strip(), where)
            return ""
        done = subprocess.run(["bash", "-c", text], cwd=self.home, env=self.env(), capture_output=True,
                              text=True, timeout=180, stdin=subprocess.DEVNULL, check=False)
        self.log.append(f"$ {command}\n{done.stdout}{done.stderr}")
        if done.returncode != 0:
            raise AssertionError(f"{where}: `{command}` exited {done.returncode}\n"
                                 f"stdout: {done.stdout}\nstderr: {done.stderr}\n{self.service_logs()}")
        return done.stdout

    def start(self, text: str, where: str) -> None:
        n = len(self.services)
        log_path = self.folder / f"service-{n}.log"
        env = self.env()
        notify = NotifySocket(self.folder / f"notify-{n}.sock") if text.startswith("learncard") else None
        if notify is not None:
            env.update(notify.env())
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(["bash", "-c", f"exec {text}"], cwd=self.home, env=env, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.services.append((text, proc, log_path))
        try:
            if notify is not None:
                notify.wait_for("READY", "1", timeout=90, alive=lambda: proc.poll() is None)
            elif text.startswith("mosquitto"):
                wait_listening(self.broker_port, timeout=30)
        except (AssertionError, TimeoutError) as err:
            raise AssertionError(f"{where}: `{text}` did not get ready: {err}\n{self.service_logs()}") from None
        finally:
            if notify is not None:
                notify.close()

    def service_logs(self) -> str:
        return "\n".join(f"--- {text}\n{path.read_text(errors='replace')[-3000:]}"
                         for text, _proc, path in self.services)

    def stop(self) -> None:
        for _text, proc, _path in reversed(self.services):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
        self.services.clear()
