"""Every size and colour of the touchscreen, in one place, so a test can check them against
the elder-first rules: result text ≥ 48 dp, every text ≥ 24 dp, line spacing ≥ 1.3, touch
targets ≥ 80 × 80 dp, contrast ≥ 7:1."""

from __future__ import annotations

FONT_FILE = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"  # Debian fonts-wqy-microhei: SC glyph forms

RESULT_TEXT = 56  # sp
TITLE_TEXT = 64
HEADING_TEXT = 44  # a screen's title where space is short (the PIN screen beside its keypad)
BODY_TEXT = 32
SMALL_TEXT = 26  # the smallest text anywhere
LINE_HEIGHT = 1.35
TARGET = 96  # dp, every button's smallest side
PIN_KEY = 110
NUMPAD_KEY = 84  # dp, a keypad key's height (≥ 80); its width is NUMPAD_KEY_WIDTH
NUMPAD_KEY_WIDTH = 136
SPACING = 16

WHITE = (1.0, 1.0, 1.0, 1.0)
INK = (0.07, 0.07, 0.07, 1.0)
BACKGROUND = (0.98, 0.98, 0.96, 1.0)
BUTTON = (0.08, 0.22, 0.45, 1.0)  # dark blue with white text
BUTTON_TEXT = WHITE
DISABLED_BUTTON = (0.82, 0.82, 0.82, 1.0)  # a key that cannot be pressed now: grey with dark text
DISABLED_TEXT = (0.15, 0.15, 0.15, 1.0)
HINT_TEXT = (0.27, 0.27, 0.27, 1.0)  # a text field's hint, on white
ERROR_INK = (0.55, 0.0, 0.0, 1.0)  # a sentence about a mistake, on BACKGROUND

# outcome: (banner colour, text colour on it, icon, sound of it) — colour is never alone:
# the icon and the words say the same thing
OUTCOMES = {
    "checkin": ((0.0, 0.33, 0.13, 1.0), WHITE, "√"),
    "checkout": ((0.0, 0.27, 0.45, 1.0), WHITE, "√"),
    "duplicate": ((0.45, 0.3, 0.0, 1.0), WHITE, "！"),
    "rejected": ((0.6, 0.0, 0.0, 1.0), WHITE, "×"),
    "refused": ((0.6, 0.0, 0.0, 1.0), WHITE, "×"),
    "staff-card": ((0.25, 0.12, 0.4, 1.0), WHITE, "★"),
    "ask": ((0.45, 0.3, 0.0, 1.0), WHITE, "？"),  # a cut-off kiosk of a several-kiosk venue asks the way
}

# every (text colour, background) pair the screens use, for the contrast test
PAIRS = [(INK, BACKGROUND), (BUTTON_TEXT, BUTTON), (DISABLED_TEXT, DISABLED_BUTTON), (ERROR_INK, BACKGROUND),
         (HINT_TEXT, WHITE), (INK, WHITE)]
PAIRS += [(fg, bg) for bg, fg, _ in OUTCOMES.values()]
FONT_SIZES = {"result": RESULT_TEXT, "title": TITLE_TEXT, "heading": HEADING_TEXT, "body": BODY_TEXT,
              "small": SMALL_TEXT}
TARGETS = {"button": TARGET, "pin key": PIN_KEY, "keypad key": NUMPAD_KEY}


def density(pixels: str, inches: str | float) -> float | None:
    """Kivy's dp scale for a panel: its pixels per inch over 160 (one dp is 1/160 inch).
    None when the size is not given (Kivy keeps its own)."""
    try:
        width, height = (int(n) for n in str(pixels).lower().split("x"))
        diagonal = float(inches)
    except ValueError:
        return None
    if diagonal <= 0 or width <= 0 or height <= 0:
        return None
    return round((width * width + height * height) ** 0.5 / diagonal / 160, 4)


def luminance(colour: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """WCAG 2 contrast ratio."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)
