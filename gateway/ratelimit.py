"""Per-kiosk token buckets: how many error receipts a kiosk may be sent.

A message the gateway cannot read at all gets ``{"error": …}`` (topics.md). A flood of
such messages (10,000 a second with a stolen certificate) must not become a flood of
receipts towards the genuine kiosk: beyond its budget an error is counted, not answered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class PerKioskBudget:
    def __init__(self, per_second: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 max_kiosks: int = 10_000) -> None:
        self.per_second = per_second
        self.burst = burst
        self._clock = clock
        self._max_kiosks = max_kiosks
        self._buckets: dict[str, tuple[float, float]] = {}  # kiosk → (tokens, at)
        self._lock = threading.Lock()

    def take(self, kiosk: str) -> bool:
        """Whether ``kiosk`` may be sent one more error receipt now."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(kiosk, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.per_second)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            if len(self._buckets) >= self._max_kiosks and kiosk not in self._buckets:
                self._buckets.clear()  # topic names are the kiosk's to choose: never grow without end
            self._buckets[kiosk] = (tokens, now)
            return allowed
