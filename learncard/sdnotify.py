"""systemd's service notification protocol (``sd_notify``), the datagram half of it.

A unit with ``Type=notify`` gets ``NOTIFY_SOCKET`` (an AF_UNIX datagram socket; a leading
``@`` means the abstract namespace) and, with ``WatchdogSec=``, ``WATCHDOG_USEC``. We send
``READY=1`` once the service can do its work, ``STATUS=…`` lines that ``systemctl status``
shows, ``RELOADING=1`` around a reload, and ``WATCHDOG=1`` only while a health check
passes — so systemd restarts a process that is alive but wedged. Twenty lines of socket
code instead of a dependency; without ``NOTIFY_SOCKET`` (a terminal, a test) every call
does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        path = env.get("NOTIFY_SOCKET", "")
        self.address = ("\0" + path[1:]) if path.startswith("@") else path
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        self.watchdog_seconds = int(usec) / 1_000_000 if usec.isdigit() and mine else 0.0

    def send(self, *fields: str) -> None:
        if not self.address:
            return
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            try:
                sock.sendto("\n".join(fields).encode(), self.address)
            except OSError as err:  # systemd gone or the socket removed: never fatal
                log.debug("sd_notify failed: %s", err)

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def stopping(self, status: str) -> None:
        self.send("STOPPING=1", f"STATUS={status}")

    def reloading(self) -> None:
        # systemd 253+ wants the monotonic time with RELOADING=1 (Type=notify-reload)
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.send("RELOADING=1", f"MONOTONIC_USEC={usec}", "STATUS=reloading the county files")

    def watch(self, check: Callable[[], str | None], stop: threading.Event) -> threading.Thread | None:
        """Ping the watchdog at half its interval while ``check()`` returns None (healthy);
        a returned text is the trouble: it goes out as STATUS and the ping is held back.
        A check that hangs holds the pings back too, which is the point."""
        if not self.address or not self.watchdog_seconds:
            return None

        def loop() -> None:
            trouble: str | None = None
            while not stop.wait(self.watchdog_seconds / 2):
                try:
                    found = check()
                except Exception as err:  # noqa: BLE001 (any failure of the check is ill health)
                    found = f"health check failed: {err}"
                if found is None:
                    self.send("WATCHDOG=1", *(["STATUS=running"] if trouble else []))
                elif found != trouble:
                    log.warning("unhealthy, holding back the watchdog: %s", found)
                    self.status(f"unhealthy: {found}")
                trouble = found

        thread = threading.Thread(target=loop, name="watchdog", daemon=True)
        thread.start()
        return thread
