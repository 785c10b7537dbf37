"""A PostgreSQL cluster of a benchmark's own: ``initdb`` into a temporary directory, a small
``shared_buffers``, its own port on loopback; and a way to drop its relation files from the
OS page cache (``posix_fadvise(DONTNEED)``), so a figure can be measured with less cache
than the indexes. Removed whole by :meth:`Cluster.stop`."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or name]
    return found[-1]


class Cluster:
    def __init__(self, shared_buffers: str = "32MB") -> None:
        self.shared_buffers = shared_buffers
        self.home = Path(tempfile.mkdtemp(prefix="lc-bench-pg-"))
        self.data = self.home / "data"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        # initdb refuses root: the cluster runs as the postgres account when there is one
        self.user: Any = "postgres" if os.geteuid() == 0 else None
        if self.user is not None:
            shutil.chown(self.home, self.user)

    def _run(self, *args: str) -> None:
        subprocess.run(args, check=True, user=self.user, capture_output=True, cwd=self.home)

    def start(self) -> Cluster:
        self._run(_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C")
        options = (f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 "
                   f"-c shared_buffers={self.shared_buffers} -c max_wal_size=2GB -c checkpoint_timeout=15min")
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.home / "log"), "-o", options, "-w", "start")
        return self

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def evict(self) -> int:
        """Drop the cluster's relation files from the OS page cache (what PostgreSQL holds in
        its own shared_buffers stays); returns the bytes of files advised."""
        total = 0
        for path in (self.data / "base").rglob("*"):
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue  # a file dropped meanwhile, or a directory
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                total += os.fstat(fd).st_size
            finally:
                os.close(fd)
        return total

    def evicting(self, every: float = 0.5) -> threading.Event:
        """Evict every ``every`` seconds until the returned event is set."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(every):
                self.evict()

        threading.Thread(target=loop, name="evict", daemon=True).start()
        return stop

    def stop(self) -> None:
        try:
            self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.home, ignore_errors=True)
