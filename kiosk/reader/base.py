"""What every reader hands the agent, and how the agent runs readers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

# reader states shown on screen and in the kiosk's ``status``
READY, CONNECTING, ERROR = "ready", "connecting", "error"


@dataclass(frozen=True)
class CardRead:
    """One tap or one scan.

    how: ``nfc`` or ``qr``.
    ndef: for ``nfc``, the tag's whole NDEF message (``b""`` when the tag had none).
    text: for ``qr``, the scanned text.
    reader: the name of the reader that saw it (for logs and status).
    """

    how: str
    reader: str
    ndef: bytes | None = None
    text: str | None = None


Emit = Callable[[CardRead], None]
ReportStatus = Callable[[str, str, str], None]  # reader name, state, detail


class Reader(Protocol):
    """A reader runs in its own thread until ``stop`` is set.

    It calls ``emit`` once per tap or scan (never for a card left on the reader) and
    ``status`` whenever its state changes (ready / connecting / error, with a detail a
    person can act on, e.g. "reader unplugged"). It reconnects by itself.
    """

    name: str

    def run(self, emit: Emit, status: ReportStatus, stop: threading.Event) -> None: ...
