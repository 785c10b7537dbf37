"""Running a device reader (camera, code scanner) against a stand-in device that opens once,
gives what it holds, and is then unplugged: the run ends when the reader tries to reopen it."""

from __future__ import annotations

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
