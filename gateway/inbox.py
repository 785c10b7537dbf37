"""The gateway's inbox: bounded (messages and bytes, in all and per kiosk) and fair (one
queue per kiosk, served in turn), so one kiosk's flood cannot starve the others' receipts.

A message that does not fit is *shed*: dropped before any work, with no receipt. Nothing
is lost by that: a kiosk settles records only from receipts, so it offers them again
(``uplink.resend_after_seconds``). The broker's PUBACK was never a promise.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

RECENT_S = 5.0  # the inbox counts as over its bound this long after it last shed for lack of room


@dataclass(frozen=True)
class Bounds:
    max_messages: int = 256
    max_bytes: int = 32 * 1024 * 1024
    kiosk_messages: int = 16  # a kiosk's window (8 messages in flight) fits twice
    kiosk_bytes: int = 4 * 1024 * 1024


class FairInbox(Generic[T]):
    """Per-key FIFO queues served round-robin. Thread-safe; ``put`` never blocks."""

    def __init__(self, bounds: Bounds, clock: Callable[[], float] = time.monotonic) -> None:
        self.bounds = bounds
        self._clock = clock
        self._queues: dict[str, deque[tuple[T, int]]] = {}
        self._sizes: dict[str, int] = {}
        self._turns: deque[str] = deque()  # keys with something queued, in serving order
        self._messages = 0
        self._bytes = 0
        self._full_at = -RECENT_S * 2
        self._closed = False
        self._ready = threading.Condition()

    def put(self, key: str, item: T, size: int) -> str | None:
        """Queue ``item``; ``None`` when taken, else why it was shed (``kiosk-full``, ``inbox-full``)."""
        b = self.bounds
        with self._ready:
            queue = self._queues.get(key)
            held = len(queue) if queue else 0
            if held >= b.kiosk_messages or (held and self._sizes[key] + size > b.kiosk_bytes):
                return "kiosk-full"
            if self._messages >= b.max_messages or (self._messages and self._bytes + size > b.max_bytes):
                self._full_at = self._clock()
                return "inbox-full"
            if queue is None:
                queue = self._queues[key] = deque()
                self._sizes[key] = 0
            if not queue:
                self._turns.append(key)
            queue.append((item, size))
            self._sizes[key] += size
            self._messages += 1
            self._bytes += size
            self._ready.notify()
            return None

    def get(self, timeout: float) -> tuple[str, T] | None:
        """The next (key, item), taking kiosks in turn; ``None`` after ``timeout`` or once closed."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._turns or self._closed, timeout) or not self._turns:
                return None
            return self._pop()

    def take(self, max_bytes: int) -> tuple[str, T] | None:
        """The next (key, item) if one is waiting and is at most ``max_bytes``, else ``None``
        (it stays first in line); never waits. For the worker's group commit."""
        with self._ready:
            if not self._turns:
                return None
            if self._queues[self._turns[0]][0][1] > max_bytes:
                return None
            return self._pop()

    def _pop(self) -> tuple[str, T]:
        """Take the next kiosk's first item (the lock is held)."""
        key = self._turns.popleft()
        queue = self._queues[key]
        item, size = queue.popleft()
        self._sizes[key] -= size
        self._messages -= 1
        self._bytes -= size
        if queue:
            self._turns.append(key)
        else:
            del self._queues[key], self._sizes[key]
        return key, item

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def usage(self) -> tuple[int, int]:
        """(messages, bytes) waiting."""
        with self._ready:
            return self._messages, self._bytes

    def over_bound(self) -> bool:
        """Full now, or shed a message for lack of room in the last few seconds."""
        b = self.bounds
        with self._ready:
            full = self._messages >= b.max_messages or self._bytes >= b.max_bytes
            return full or self._clock() - self._full_at < RECENT_S
