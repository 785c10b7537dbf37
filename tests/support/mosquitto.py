"""A real Mosquitto broker on a free loopback port, in a folder of its own.

Started as the current user with ``user`` set to that user, so it never drops to the
``mosquitto`` account (its files stay ours). ``stop`` sends SIGTERM (a clean shutdown
saves persistence), ``kill`` sends SIGKILL, ``start`` starts it again on the same port.
"""

from __future__ import annotations

import getpass
import os
import signal
import subprocess
from pathlib import Path

from tests.support.ports import free_port, wait_listening


class Mosquitto:
    def __init__(self, folder: Path, port: int | None = None, extra_conf: str = "") -> None:
        self.folder = folder
        self.port = port or free_port()
        self.extra_conf = extra_conf
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        self.conf = folder / "mosquitto.conf"
        self.log = folder / "mosquitto.log"

    def write_conf(self) -> None:
        """A plain loopback listener with persistence; ``extra_conf`` is appended."""
        self.conf.write_text(
            f"user {getpass.getuser()}\n"
            f"persistence true\npersistence_location {self.folder}/\n"
            "autosave_interval 1\n"  # tests kill the broker: keep the snapshot fresh
            f"log_dest file {self.log}\nlog_type error\nlog_type warning\n"
            "max_queued_messages 0\nset_tcp_nodelay true\n"
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            + self.extra_conf
        )

    def start(self, conf: Path | None = None) -> Mosquitto:
        if conf is None:
            self.write_conf()
            conf = self.conf
        self.proc = subprocess.Popen(
            ["mosquitto", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_listening(self.port)
        except TimeoutError:
            log = self.log.read_text() if self.log.exists() else "(no log)"
            self.kill()
            raise RuntimeError(f"mosquitto did not start: {log}") from None
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        self.proc = None

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
