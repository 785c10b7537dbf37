"""The kiosk's clocks: wall time (in the venue's zone), monotonic time, boot id, and how
far the wall clock can be trusted.

Clock states (record.md): ``ntp`` when the kernel says the clock is synchronized,
``gateway`` once receipts' ``time`` has set an offset (kiosks without a real-time clock or
NTP), ``rtc`` when configured to trust a battery-backed clock, else ``unset``.

A receipt's ``time`` is taken only with a measured round trip (the uplink's job): the
gateway's time plus half the round trip. The last trusted time is kept in a file in the
state folder (written atomically, at most once a minute) and the wall clock never starts
below it: a kiosk without a battery that boots in 1970 still signs times after its last.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from records.errors import RecordError
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


SAVE_EVERY_S = 60.0  # the last trusted time is written at most this often


class Clock:
    """Now, by every clock the kiosk has. Thread-safe.

    ``wall`` (seconds since the epoch) and ``mono_ns`` are the system's clocks unless a test
    injects its own; ``trusted_file`` keeps the last trusted time across restarts."""

    def __init__(self, timezone: str = "Asia/Shanghai", *, trust_rtc: bool = False,
                 ntp_check: bool = True, trusted_file: Path | None = None,
                 wall: Callable[[], float] = time.time, mono_ns: Callable[[], int] = time.monotonic_ns) -> None:
        self.zone = ZoneInfo(timezone)
        self.bootid = boot_id()
        self.trust_rtc = trust_rtc
        self.ntp_check = ntp_check
        self.trusted_file = trusted_file
        self.wall = wall
        self.mono_ns = mono_ns
        self._offset = 0.0  # seconds added to the system clock (from receipts, or the floor)
        self._from_gateway = False
        self._saved_at: float | None = None  # mono seconds of the last write of trusted_file
        self._lock = threading.Lock()
        floor = self.last_trusted()
        if floor is not None and self.wall() < floor:
            self._offset = floor - self.wall()
            log.warning("the system clock is %.0f s behind the last trusted time: starting from that time",
                        self._offset)

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
        wall = datetime.fromtimestamp(self.wall() + offset, self.zone)
        return Moment(wall, self.mono_ns(), self.bootid)

    def set_from_gateway(self, gateway_time: str, rtt_s: float) -> None:
        """Follow a receipt's ``time``, sent ``rtt_s`` after the message it answers left this
        kiosk (the caller measured it and judged it short): the gateway's time then was
        about half the round trip ago. With NTP the receipt only confirms the trusted time."""
        if self.ntp_check and kernel_synchronized():
            self.save_trusted()
            return
        try:
            then = parse_time(gateway_time)
        except (ValueError, RecordError):
            log.warning("receipt time %r is not RFC 3339; ignored", gateway_time)
            return
        offset = then.timestamp() + rtt_s / 2 - self.wall()
        with self._lock:
            if abs(offset - self._offset) > 1 or not self._from_gateway:
                log.info("wall clock follows the gateway: offset %+.1f s (round trip %.3f s)", offset, rtt_s)
            self._offset = offset
            self._from_gateway = True
        self.save_trusted()

    # --- the last trusted time ----------------------------------------------------------

    def last_trusted(self) -> float | None:
        """The last trusted time saved (seconds since the epoch), if any."""
        if self.trusted_file is None:
            return None
        try:
            return float(self.trusted_file.read_text(encoding="ascii").split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def save_trusted(self, *, force: bool = False) -> None:
        """Write now as the last trusted time (atomically: a temp file renamed over it)."""
        if self.trusted_file is None:
            return
        mono = self.mono_ns() / 1e9
        if not force and self._saved_at is not None and mono - self._saved_at < SAVE_EVERY_S:
            return
        self._saved_at = mono
        with self._lock:
            now = self.wall() + self._offset
        tmp = self.trusted_file.with_name(self.trusted_file.name + ".tmp")
        try:
            with open(tmp, "w", encoding="ascii") as f:
                f.write(f"{now:.3f}\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.trusted_file)
        except OSError as err:
            log.warning("cannot save the last trusted time to %s: %s", self.trusted_file, err)

    def local_day(self, moment: Moment) -> str:
        return moment.wall.astimezone(self.zone).date().isoformat()

    def shift(self, seconds: float) -> None:
        """Move the wall clock (tests and the demo's clock-jump scenes only)."""
        with self._lock:
            self._offset += seconds


class DrivenClock(Clock):
    """A clock that moves only when told (tests and the simulated venue week). Set with
    ``[kiosk] driven_clock`` — never on a real kiosk. Its monotonic reading is its wall time
    in nanoseconds, so durations stay right across agent restarts that start it again later."""

    def __init__(self, timezone: str, start: datetime) -> None:
        self._seconds = start.timestamp()
        super().__init__(timezone, ntp_check=False, trust_rtc=True, wall=lambda: self._seconds,
                         mono_ns=lambda: round(self._seconds * 1_000_000_000))

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._seconds += seconds

    def set_from_gateway(self, gateway_time: str, rtt_s: float) -> None:
        """A driven clock follows only its driver."""
