"""A notify socket the test owns, as systemd would: an AF_UNIX datagram socket whose path
goes to the child as ``NOTIFY_SOCKET``; every datagram is kept, in order, as a dict of its
``KEY=value`` lines."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path


class NotifySocket:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def env(self, watchdog_seconds: float | None = None) -> dict[str, str]:
        out = {"NOTIFY_SOCKET": str(self.path)}
        if watchdog_seconds is not None:
            out["WATCHDOG_USEC"] = str(int(watchdog_seconds * 1_000_000))
        return out

    def _receive(self) -> None:
        while not self._closed.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            with self._lock:
                self.messages.append((time.monotonic(), fields))

    def seen(self, key: str, value: str | None = None, since: float = 0.0) -> list[dict[str, str]]:
        """Messages with ``key`` (equal to ``value``; a value ending in ``*`` is a prefix)."""
        def match(text: str) -> bool:
            return value is None or text == value or (value.endswith("*") and text.startswith(value[:-1]))

        with self._lock:
            return [m for t, m in self.messages if t >= since and key in m and match(m[key])]

    def statuses(self) -> list[str]:
        return [m["STATUS"] for m in self.seen("STATUS")]

    def wait_for(self, key: str, value: str | None = None, *, since: float = 0.0, timeout: float = 60.0,
                 alive: Callable[[], bool] = lambda: True) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.seen(key, value, since)
            if found:
                return found[0]
            if not alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no {key}={value or '*'} on the notify socket; got {self.statuses()}")

    def close(self) -> None:
        self._closed.set()
        self.sock.close()
        self._thread.join(timeout=5)
