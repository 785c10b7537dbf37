"""The touchscreen's side of the control socket: one thread reads, the Kivy thread sees
messages only through ``Clock.schedule_once``. Reconnects when the agent restarts; the
``hello`` snapshot then shows the truth again."""

from __future__ import annotations

import itertools
import json
import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
Callback = Callable[[dict[str, Any]], None]


class UiClient:
    def __init__(self, path: Path, on_message: Callback, schedule: Callable[[Callable[[], None]], None]) -> None:
        self.path = path
        self.on_message = on_message
        self.schedule = schedule  # runs a function on the UI thread
        self._sock: socket.socket | None = None
        self._pending: dict[str, Callback] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="ui-client", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(str(self.path))
            except OSError:
                self._deliver({"event": "disconnected"})
                self.stop.wait(1.0)
                continue
            with self._lock:
                self._sock = sock
            try:
                for line in sock.makefile("rb"):
                    message = json.loads(line)
                    callback = self._pending.pop(str(message.get("id")), None) if "id" in message else None
                    if callback is not None:
                        self.schedule(lambda m=message, cb=callback: cb(m))
                    else:
                        self._deliver(message)
            except (OSError, ValueError):
                pass
            with self._lock:
                self._sock = None
            self._deliver({"event": "disconnected"})

    def _deliver(self, message: dict[str, Any]) -> None:
        self.schedule(lambda: self.on_message(message))

    def call(self, op: str, callback: Callback | None = None, **args: Any) -> bool:
        """Send a request; ``callback`` gets the whole answer on the UI thread."""
        request_id = f"u{next(self._ids)}"
        with self._lock:
            if self._sock is None:
                return False
            if callback is not None:
                self._pending[request_id] = callback
            try:
                self._sock.sendall(json.dumps({"v": 1, "id": request_id, "op": op, **args}).encode() + b"\n")
            except OSError:
                self._pending.pop(request_id, None)
                return False
        return True

    def close(self) -> None:
        self.stop.set()
        with self._lock:
            if self._sock is not None:
                try:
                    self._sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
