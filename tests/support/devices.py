"""Running a device reader (camera, code scanner) against a stand-in device that opens once,
gives what it holds, and is then unplugged: the run ends when the reader tries to reopen it."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from kiosk.reader.base import CardRead


def run_until_unplugged(make_reader: Callable[[Callable[[], Any]], Any],
                        device: Any) -> tuple[list[CardRead], list[str]]:
    """``make_reader(source)`` builds the reader around ``source`` (the device opener).
    Returns what it emitted and the states it reported."""
    reads: list[CardRead] = []
    states: list[str] = []
    stop = threading.Event()
    opened: list[int] = []

    def source() -> Any:
        opened.append(1)
        if len(opened) > 1:
            stop.set()
            raise OSError("unplugged")
        return device

    make_reader(source).run(reads.append, lambda name, state, detail: states.append(state), stop)
    return reads, states


class Running:
    """A reader on its own thread, collecting what it emits and the states it reports."""

    def __init__(self, reader: Any) -> None:
        self.reads: queue.Queue[CardRead] = queue.Queue()
        self.states: list[tuple[str, str]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=reader.run, args=(self.reads.put, self._status, self.stop), daemon=True)

    def _status(self, name: str, state: str, detail: str) -> None:
        self.states.append((state, detail))

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
