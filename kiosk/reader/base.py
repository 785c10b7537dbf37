"""What every reader hands the agent, and how the agent runs readers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

log = logging.getLogger(__name__)

# reader states shown on screen and in the kiosk's ``status``
READY, CONNECTING, ERROR = "ready", "connecting", "error"


@dataclass(frozen=True)
class CardRead:
    """One tap or one scan.

    how: ``nfc`` or ``qr``.
    ndef: for ``nfc``, the tag's whole NDEF message (``b""`` when the tag had none).
    text: for ``qr``, the scanned text.
    reader: the name of the reader that saw it (for logs and status).
    torn: for ``nfc``, the card left the reader before its NDEF was read whole.
    """

    how: str
    reader: str
    ndef: bytes | None = None
    text: str | None = None
    torn: bool = False


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


class Closable(Protocol):
    def close(self) -> None: ...


S = TypeVar("S", bound=Closable)


def keep_open(name: str, opener: Callable[[], S], use: Callable[[S], None], status: ReportStatus,
              stop: threading.Event, *, what: str, unplugged: str, retry_seconds: float) -> None:
    """The loop a device reader runs in: open the device (state ``connecting``), read from it
    until ``stop`` (``ready``); when it cannot be opened or is lost (OSError), say so (``error``
    with ``unplugged``, words a person can act on), wait ``retry_seconds`` and open it again.
    The device is always closed."""
    while not stop.is_set():
        status(name, CONNECTING, "")
        try:
            source = opener()
        except OSError as err:
            log.warning("%s unavailable: %s", what, err)
            status(name, ERROR, unplugged)
            stop.wait(retry_seconds)
            continue
        status(name, READY, "")
        try:
            use(source)
        except OSError as err:
            log.warning("%s lost: %s", what, err)
            status(name, ERROR, unplugged)
            stop.wait(retry_seconds)
        finally:
            source.close()
