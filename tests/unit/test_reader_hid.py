"""The keyboard-wedge scanner, fed at the evdev boundary (no /dev/uinput here): real
evdev.InputEvent objects with their timestamps, through the reader's loop."""

from __future__ import annotations

import evdev
from evdev import ecodes

from kiosk.reader.base import CardRead
from kiosk.reader.hid import HidReader, KeyDecoder, key_text
from records import card
from tests.support.county import TestCounty
from tests.support.devices import run_until_unplugged

SHIFTED = {"$": "KEY_4", "%": "KEY_5", "*": "KEY_8", "+": "KEY_EQUAL", ":": "KEY_SEMICOLON"}
PLAIN = {" ": "KEY_SPACE", "-": "KEY_MINUS", ".": "KEY_DOT", "/": "KEY_SLASH"}


def keystrokes(text: str, start: float, step: float = 0.004, enter: bool = True) -> list[evdev.InputEvent]:
    """What a scanner types: key down/up for each character, shift where needed."""
    events, t = [], start

    def ev(name: str, value: int) -> None:
        nonlocal t
        sec, usec = int(t), int(round((t % 1) * 1e6))
        events.append(evdev.InputEvent(sec, usec, ecodes.EV_KEY, ecodes.ecodes[name], value))
        t += step

    for ch in text:
        if ch.isupper() or ch in SHIFTED:
            name = SHIFTED.get(ch, f"KEY_{ch}")
            ev("KEY_LEFTSHIFT", 1), ev(name, 1), ev(name, 0), ev("KEY_LEFTSHIFT", 0)
        else:
            name = PLAIN.get(ch, f"KEY_{ch.upper()}")
            ev(name, 1), ev(name, 0)
    if enter:
        ev("KEY_ENTER", 1), ev("KEY_ENTER", 0)
    return events


class FakeScanner:
    """The evdev device stand-in: grab, then batches of events, then unplugged."""

    def __init__(self, batches: list[list[evdev.InputEvent]]) -> None:
        self.batches = list(batches)
        self.grabbed = False

    def grab(self) -> None:
        self.grabbed = True

    def events(self, timeout: float):
        if not self.batches:
            raise OSError("unplugged")
        return self.batches.pop(0)

    def close(self) -> None:
        pass


def scan(batches: list[list[evdev.InputEvent]]) -> tuple[list[CardRead], list[str], FakeScanner]:
    scanner = FakeScanner(batches)
    reads, states = run_until_unplugged(lambda source: HidReader(source, retry_seconds=0.01), scanner)
    return reads, states, scanner


def test_a_credential_scanned_whole(county: TestCounty) -> None:
    text = county.qr(county.credential())
    reads, states, scanner = scan([keystrokes(text, 100.0)])
    assert scanner.grabbed
    assert [text] == [r.text for r in reads]
    card.from_qr_text(reads[0].text)
    assert ["connecting", "ready", "error", "connecting", "error"] == states


def test_two_quick_scans_and_one_without_enter(county: TestCounty) -> None:
    a, b, c = (county.qr(county.credential()) for _ in range(3))
    events = keystrokes(a, 10.0) + keystrokes(b, 10.9) + keystrokes(c, 12.0, enter=False)
    reads, _, _ = scan([events, []])  # an empty batch: silence after the last one
    assert [a, b, c] == [r.text for r in reads]


def test_a_garbled_scan_is_handed_over_marked() -> None:
    events = keystrokes("LC1:AB", 5.0, enter=False)
    events += [evdev.InputEvent(5, 90_000, ecodes.EV_KEY, ecodes.KEY_F7, 1),
               evdev.InputEvent(5, 91_000, ecodes.EV_KEY, ecodes.KEY_F7, 0)]
    events += keystrokes("CD", 5.095)
    reads, _, _ = scan([events])
    assert ["LC1:AB\ufffdCD"] == [r.text for r in reads]


def test_us_layout_for_base45() -> None:
    assert [key_text("KEY_4", True), key_text("KEY_SEMICOLON", True), key_text("KEY_A", False)] == ["$", ":", "a"]
    decoder = KeyDecoder()
    assert [] == decoder.feed("KEY_A", 1, 0.0)
    assert [] == decoder.feed("KEY_A", 2, 0.01)  # auto-repeat is not a key
    assert ["a"] == decoder.feed("KEY_ENTER", 1, 0.02)
