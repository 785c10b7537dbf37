"""The kiosk's clocks: wall time (in the venue's zone), monotonic time, boot id, and how
far the wall clock can be trusted.

Clock states (record.md): ``ntp`` when the kernel says the clock is synchronized,
``gateway`` once receipts' ``time`` has set an offset (kiosks without a real-time clock or
NTP), ``rtc`` when configured to trust a battery-backed clock, else ``unset``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from records.record import parse_time
from records.rules import Moment

log = logging.getLogger(__name__)

_STA_UNSYNC = 0x0040
_TIME_ERROR = 5


class _Timex(ctypes.Structure):
    _fields_ = [("modes", ctypes.c_int), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long),
                ("status", ctypes.c_int), ("constant", ctypes.c_long),
                ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long),
                ("tick", ctypes.c_long), ("pad", ctypes.c_long * 20)]


_LIBC: list[ctypes.CDLL | None] = []


def kernel_synchronized() -> bool:
    """Whether the kernel's clock discipline says NTP has synchronized the clock."""
    if not _LIBC:
        try:
            _LIBC.append(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True))
        except OSError:
            _LIBC.append(None)
    libc = _LIBC[0]
    if libc is None:
        return False
    tx = _Timex()
    try:
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return False
    return state not in (-1, _TIME_ERROR) and not (tx.status & _STA_UNSYNC)


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return str(uuid.uuid4())  # no /proc: one id for this process's life


class Clock:
    """Now, by every clock the kiosk has. Thread-safe."""

    def __init__(self, timezone: str = "Asia/Shanghai", *, trust_rtc: bool = False,
                 ntp_check: bool = True) -> None:
        self.zone = ZoneInfo(timezone)
        self.bootid = boot_id()
        self.trust_rtc = trust_rtc
        self.ntp_check = ntp_check
        self._offset = 0.0  # seconds added to the system clock (from receipts)
        self._from_gateway = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        if self.ntp_check and kernel_synchronized():
            return "ntp"
        if self._from_gateway:
            return "gateway"
        return "rtc" if self.trust_rtc else "unset"

    def now(self) -> Moment:
        with self._lock:
            offset = self._offset
        wall = datetime.fromtimestamp(time.time() + offset, self.zone)
        return Moment(wall, time.monotonic_ns(), self.bootid)

    def set_from_gateway(self, gateway_time: str) -> None:
        """Follow a receipt's ``time`` when the kiosk has no better source."""
        if self.ntp_check and kernel_synchronized():
            return
        try:
            then = parse_time(gateway_time)
        except ValueError:
            log.warning("receipt time %r is not RFC 3339; ignored", gateway_time)
            return
        offset = then.timestamp() - time.time()
        with self._lock:
            if abs(offset - self._offset) > 1 or not self._from_gateway:
                log.info("wall clock follows the gateway: offset %+.1f s", offset)
            self._offset = offset
            self._from_gateway = True

    def local_day(self, moment: Moment) -> str:
        return moment.wall.astimezone(self.zone).date().isoformat()

    def shift(self, seconds: float) -> None:
        """Move the wall clock (tests and the demo's clock-jump scenes only)."""
        with self._lock:
            self._offset += seconds
