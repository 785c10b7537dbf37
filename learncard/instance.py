"""One running copy per state: an exclusive ``flock`` on a lock file.

A second agent on the same state folder would unlink the first one's control socket; two
gateways with one client id knock each other off the broker. The lock is taken before
anything is opened, so the second copy touches nothing. The kernel drops the lock when
the process dies, however it dies: there is no stale lock file to clean up.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO


class InstanceLock:
    """Holds the lock until :meth:`release` (or the process's end)."""

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self._handle: IO[str] | None = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file drops the flock
            self._handle = None


def acquire(path: Path) -> InstanceLock | None:
    """The lock on ``path`` (created if missing), or ``None`` while another process holds it.

    Raises ``OSError`` when the lock file cannot be created at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the lock's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")  # for the operator: which process holds it
    handle.flush()
    return InstanceLock(path, handle)


def holder(path: Path) -> str:
    """The pid written by the process that holds the lock ("?" when unknown)."""
    try:
        return path.read_text(encoding="utf-8").strip() or "?"
    except OSError:
        return "?"
