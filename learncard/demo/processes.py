"""Child processes of the demo: started with their logs in the run folder, stopped in
reverse order, never left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class DemoError(Exception):
    """A part of the demo did not start or did not finish its work in time."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, ready: Callable[[], bool], timeout: float, proc: Child | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if proc is not None and proc.popen.poll() is not None:
            raise DemoError(f"{what}: the process ended (exit {proc.popen.returncode}); see {proc.log}")
        time.sleep(0.1)
    raise DemoError(f"{what}: not ready after {timeout:.0f} s" + (f"; see {proc.log}" if proc else ""))


def port_open(port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False
    return check


@dataclass
class Child:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


@dataclass
class Processes:
    """The demo's children. Use as a context manager: all are stopped on the way out."""

    folder: Path
    children: list[Child] = field(default_factory=list)

    def start(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> Child:
        log = self.folder / f"{name}.log"
        handle = log.open("ab")
        popen = subprocess.Popen(
            list(argv), stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, start_new_session=True,
        )
        handle.close()
        child = Child(name, popen, log)
        self.children.append(child)
        return child

    def learncard(self, name: str, args: Sequence[str], env: dict[str, str] | None = None) -> Child:
        return self.start(name, [sys.executable, "-m", "learncard", *args], env)

    def run(self, name: str, args: Sequence[str], stdin: str = "", timeout: float = 120) -> str:
        """Run ``learncard ARGS`` to its end (the county's provisioning steps); its standard
        output is returned, its errors go to the step's log."""
        log = self.folder / f"{name}.log"
        with log.open("ab") as handle:
            try:
                done = subprocess.run([sys.executable, "-m", "learncard", *args], input=stdin.encode(),
                                      stdout=subprocess.PIPE, stderr=handle, timeout=timeout, check=False)
            except subprocess.TimeoutExpired as err:
                raise DemoError(f"`learncard {' '.join(args[:4])} …` did not finish in {timeout:.0f} s") from err
        if done.returncode != 0:
            raise DemoError(f"`learncard {' '.join(args[:4])} …` failed (exit {done.returncode}); see {log}")
        return done.stdout.decode()

    def stop(self, child: Child, timeout: float = 10) -> None:
        if child.popen.poll() is None:
            child.popen.send_signal(signal.SIGTERM)
            try:
                child.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(child.popen.pid, signal.SIGKILL)
                child.popen.wait()
        if child in self.children:
            self.children.remove(child)

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: object) -> None:
        for child in reversed(list(self.children)):
            self.stop(child)
