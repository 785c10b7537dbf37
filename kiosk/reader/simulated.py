"""The simulated reader: reads injected through the agent's control socket (``tap``).

Used by ``learncard kiosk tap``, the demo's panel of sample cards and the tests.
"""

from __future__ import annotations

import queue
import threading

from kiosk.reader.base import READY, CardRead, Emit, ReportStatus


class SimulatedReader:
    name = "simulated"

    def __init__(self) -> None:
        self._queue: queue.Queue[CardRead] = queue.Queue()

    def inject(self, how: str, *, text: str | None = None, ndef: bytes | None = None) -> None:
        self._queue.put(CardRead(how=how, reader=self.name, text=text, ndef=ndef))

    def run(self, emit: Emit, status: ReportStatus, stop: threading.Event) -> None:
        status(self.name, READY, "")
        while not stop.is_set():
            try:
                read = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            emit(read)
