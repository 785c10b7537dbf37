"""QR codes from a keyboard-wedge scanner, read as an input device through evdev.

The device is grabbed, so its keystrokes never reach another window. Key events are turned
into text with a US layout (shift matters: base45 uses capitals and ``$%*+-./:``); a scan ends
at Enter, or when the keys stop for longer than ``gap_seconds`` (scanners without a suffix).
A scan with keys that are not text, or longer than a QR code holds, is still handed over —
marked with U+FFFD where a key was not text — so the agent refuses it with a reason; nothing
is typed anywhere. An unplugged scanner is reported and opened again when it comes back.
"""

from __future__ import annotations

import logging
import select
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from kiosk.reader.base import CardRead, Emit, ReportStatus, keep_open

log = logging.getLogger(__name__)

MAX_SCAN = 4296  # the most characters a QR code holds
UNPLUGGED = "扫码枪未连接 / the code scanner is unplugged"
EV_KEY, KEY_DOWN = 0x01, 1
_SHIFTS = {"KEY_LEFTSHIFT", "KEY_RIGHTSHIFT"}
_PLAIN = {"KEY_SPACE": " ", "KEY_MINUS": "-", "KEY_EQUAL": "=", "KEY_DOT": ".", "KEY_SLASH": "/",
          "KEY_SEMICOLON": ";", "KEY_COMMA": ",", "KEY_APOSTROPHE": "'", "KEY_LEFTBRACE": "[",
          "KEY_RIGHTBRACE": "]", "KEY_BACKSLASH": "\\", "KEY_GRAVE": "`"}
_SHIFTED = {"KEY_1": "!", "KEY_2": "@", "KEY_3": "#", "KEY_4": "$", "KEY_5": "%", "KEY_6": "^", "KEY_7": "&",
            "KEY_8": "*", "KEY_9": "(", "KEY_0": ")", "KEY_MINUS": "_", "KEY_EQUAL": "+", "KEY_DOT": ">",
            "KEY_SLASH": "?", "KEY_SEMICOLON": ":", "KEY_COMMA": "<", "KEY_APOSTROPHE": '"',
            "KEY_LEFTBRACE": "{", "KEY_RIGHTBRACE": "}", "KEY_BACKSLASH": "|", "KEY_GRAVE": "~"}
_ENTER = {"KEY_ENTER", "KEY_KPENTER"}


def key_text(name: str, shift: bool) -> str | None:
    """The character a US-layout key makes, or None when it makes none."""
    if name.startswith("KEY_") and len(name) == 5 and name[4].isalpha():
        return name[4] if shift else name[4].lower()
    if shift and name in _SHIFTED:
        return _SHIFTED[name]
    if name.startswith("KEY_") and len(name) == 5 and name[4].isdigit():
        return name[4]
    if name.startswith("KEY_KP") and len(name) == 7 and name[6].isdigit():
        return name[6]
    return _PLAIN.get(name)


@dataclass
class KeyDecoder:
    """Key events (name, down?, time in seconds) → finished scans."""

    gap_seconds: float = 0.1
    text: list[str] = field(default_factory=list)
    shift: bool = False
    last: float | None = None

    def feed(self, name: str, value: int, at: float) -> list[str]:
        done = []
        if self.text and self.last is not None and at - self.last > self.gap_seconds:
            done.append(self._flush())
        if name in _SHIFTS:
            self.shift = value != 0
            return done
        if value != KEY_DOWN:
            return done  # key up, or auto-repeat
        self.last = at
        if name in _ENTER:
            if self.text:
                done.append(self._flush())
            return done
        char = key_text(name, self.shift)
        self.text.append(char if char is not None else "\ufffd")
        return done

    def idle(self, now: float) -> list[str]:
        """What ended by silence (called when no key came for a while)."""
        if self.text and self.last is not None and now - self.last > self.gap_seconds:
            return [self._flush()]
        return []

    def _flush(self) -> str:
        text = "".join(self.text)
        self.text.clear()
        return text


class KeySource(Protocol):
    def grab(self) -> None: ...
    def events(self, timeout: float) -> Iterable[Any]: ...
    def close(self) -> None: ...


class EvdevSource:
    """A scanner's /dev/input/event* device, grabbed for this reader alone."""

    def __init__(self, path: str) -> None:
        import evdev

        self.ecodes = evdev.ecodes
        self.device = evdev.InputDevice(path)

    def grab(self) -> None:
        self.device.grab()

    def events(self, timeout: float) -> Iterable[Any]:
        ready, _, _ = select.select([self.device.fd], [], [], timeout)
        return list(self.device.read()) if ready else []

    def close(self) -> None:
        try:
            self.device.ungrab()
        except OSError:
            pass
        self.device.close()


def key_name(event: Any) -> str:
    import evdev

    name = evdev.ecodes.KEY.get(event.code, f"KEY_{event.code}")
    return name[0] if isinstance(name, list) else str(name)


class HidReader:
    name = "hid"

    def __init__(self, source: Callable[[], KeySource], *, gap_seconds: float = 0.1, retry_seconds: float = 3.0,
                 clock: Callable[[], float] | None = None) -> None:
        self.source = source
        self.gap_seconds = gap_seconds
        self.retry_seconds = retry_seconds
        self.clock = clock

    def _emit(self, texts: list[str], emit: Emit) -> None:
        for text in texts:
            if len(text) > MAX_SCAN:
                log.warning("a scan of %d characters was too long to be a QR code; refused", len(text))
                text = text[:MAX_SCAN]
            emit(CardRead(how="qr", reader=self.name, text=text))

    def run(self, emit: Emit, status: ReportStatus, stop: threading.Event) -> None:
        def grabbed() -> Any:
            source = self.source()
            try:
                source.grab()  # the scanner's keystrokes go to us, not to a console
            except OSError:
                source.close()
                raise
            return source

        def read_scans(source: Any) -> None:
            decoder = KeyDecoder(self.gap_seconds)
            last_time = 0.0
            while not stop.is_set():
                events = list(source.events(self.gap_seconds))
                for event in events:
                    if event.type == EV_KEY:
                        last_time = event.timestamp()
                        self._emit(decoder.feed(key_name(event), event.value, last_time), emit)
                if not events:
                    now = self.clock() if self.clock else last_time + 2 * self.gap_seconds
                    self._emit(decoder.idle(now), emit)

        keep_open(self.name, grabbed, read_scans, status, stop, what="code scanner", unplugged=UNPLUGGED,
                  retry_seconds=self.retry_seconds)


def from_config(section: dict[str, Any]) -> HidReader:
    path = str(section["hid_device"])
    return HidReader(lambda: EvdevSource(path))
