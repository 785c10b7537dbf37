"""Pictures drawn with Kivy's canvas (no image files to lose): the outcome icons, the tap
pictogram of the idle screen and the out-of-service picture. Every picture comes with words
beside it; none says anything alone. Lines are INK or white on a dark banner, ≥ 3:1."""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.graphics import Canvas, Color, Ellipse, Line, Rectangle, RoundedRectangle
from kivy.metrics import dp
from kivy.properties import ListProperty, StringProperty
from kivy.uix.widget import Widget

from kiosk.ui import theme

CARD = (0.55, 0.36, 0.0, 1.0)  # the learning card: dark amber, 4.9:1 on the background
SKIN = (0.96, 0.80, 0.64, 1.0)  # filled, outlined in INK: the outline carries the contrast
WAVES = (0.0, 0.27, 0.45, 1.0)


class Drawn(Widget):
    """A picture per ``kind``, drawn once for a place and size and then kept: a result that
    shows a kind already seen swaps a finished group of instructions in, and creates none
    (docs/ui.md, Memory). Changes of place, size, kind and ink within one frame draw once."""

    kind = StringProperty("")
    ink = ListProperty(list(theme.INK))

    def __init__(self, **kwargs: Any) -> None:
        self._drawn: dict[tuple[str, tuple[float, ...]], Canvas] = {}
        self._geometry: tuple[float, ...] = ()
        self._showing: Canvas | None = None
        self._trigger = Clock.create_trigger(self.redraw, -1)
        super().__init__(**kwargs)
        self.bind(pos=self._trigger, size=self._trigger, kind=self._trigger, ink=self._trigger)

    def redraw(self, *_: Any) -> None:
        geometry = (*self.pos, *self.size)
        if geometry != self._geometry:  # moved or resized: every kept picture is out of place
            self._drawn.clear()
            self._geometry = geometry
        key = (self.kind, tuple(self.ink))
        group = self._drawn.get(key)
        if group is None:
            group = Canvas()
            with group:
                getattr(self, "draw_" + self.kind.replace("-", "_"), self.draw_nothing)()
            self._drawn[key] = group
        if group is not self._showing:
            self.canvas.clear()
            self.canvas.add(group)
            self._showing = group

    def draw_nothing(self) -> None:
        pass


class OutcomeIcon(Drawn):
    """checkin: an arrow going into a door; checkout: an arrow coming out of it; duplicate:
    a clock face; rejected: a cross; staff-card: a key. Check-in and check-out differ in
    picture, colour and first word."""

    def _box(self) -> tuple[float, float, float]:
        side = min(self.width, self.height) * 0.8
        return self.center_x, self.center_y, side

    def _door(self, cx: float, cy: float, s: float) -> None:
        Line(rectangle=(cx, cy - s * 0.45, s * 0.4, s * 0.9), width=dp(5))

    def _arrow(self, x0: float, x1: float, cy: float, s: float) -> None:
        Line(points=[x0, cy, x1, cy], width=dp(7))
        head = s * 0.16 * (1 if x1 > x0 else -1)
        Line(points=[x1 - head, cy + abs(head), x1, cy, x1 - head, cy - abs(head)], width=dp(7))

    def draw_checkin(self) -> None:
        cx, cy, s = self._box()
        Color(*self.ink)
        self._door(cx, cy, s)
        self._arrow(cx - s * 0.5, cx + s * 0.22, cy, s)

    def draw_checkout(self) -> None:
        cx, cy, s = self._box()
        Color(*self.ink)
        self._door(cx - s * 0.45, cy, s)
        self._arrow(cx - s * 0.25, cx + s * 0.5, cy, s)

    def draw_duplicate(self) -> None:
        cx, cy, s = self._box()
        Color(*self.ink)
        Line(circle=(cx, cy, s * 0.42), width=dp(5))
        Line(points=[cx, cy + s * 0.3, cx, cy, cx + s * 0.2, cy - s * 0.1], width=dp(6))

    def draw_rejected(self) -> None:
        cx, cy, s = self._box()
        Color(*self.ink)
        d = s * 0.36
        Line(points=[cx - d, cy - d, cx + d, cy + d], width=dp(9))
        Line(points=[cx - d, cy + d, cx + d, cy - d], width=dp(9))

    draw_refused = draw_rejected

    def draw_staff_card(self) -> None:
        cx, cy, s = self._box()
        Color(*self.ink)
        Line(circle=(cx - s * 0.22, cy, s * 0.18), width=dp(5))
        Line(points=[cx - s * 0.04, cy, cx + s * 0.45, cy, cx + s * 0.45, cy - s * 0.15], width=dp(6))
        Line(points=[cx + s * 0.28, cy, cx + s * 0.28, cy - s * 0.12], width=dp(6))


class TapPicture(Drawn):
    """A hand holding the learning card over NFC waves, a QR code beside it, and a thick
    arrow pointing where the reader is on this kiosk (``kind``: below, right or left)."""

    def draw_below(self) -> None:
        self._scene(0, -1)

    def draw_right(self) -> None:
        self._scene(1, 0)

    def draw_left(self) -> None:
        self._scene(-1, 0)

    def _scene(self, dx: int, dy: int) -> None:
        s = min(self.height, self.width / 2.2)
        cx, cy = self.center_x, self.center_y
        card_w, card_h = s * 0.55, s * 0.35
        card_x, card_y = cx - s * 0.75, cy - card_h / 2 + s * 0.1
        Color(*CARD)
        RoundedRectangle(pos=(card_x, card_y), size=(card_w, card_h), radius=[dp(8)])
        Color(*theme.WHITE)
        Rectangle(pos=(card_x + card_w * 0.1, card_y + card_h * 0.62), size=(card_w * 0.5, card_h * 0.12))
        # the hand holding it from below: a palm, four fingertips over the card's lower edge, a thumb
        f = card_w / 6
        palm_x, palm_y, palm_w, palm_h = card_x + f * 0.8, card_y - s * 0.32, f * 4.4, s * 0.34
        for fill, grow in ((theme.INK, dp(3)), (SKIN, 0)):
            Color(*fill)
            RoundedRectangle(pos=(palm_x - grow, palm_y - grow), size=(palm_w + 2 * grow, palm_h + 2 * grow),
                             radius=[f * 0.9])
            for i in range(4):
                RoundedRectangle(pos=(palm_x + f * 0.1 + i * f * 1.08 - grow, card_y - grow),
                                 size=(f * 0.95 + 2 * grow, card_h * 0.3 + 2 * grow), radius=[f * 0.45])
            Ellipse(pos=(palm_x - f * 1.1 - grow, palm_y + palm_h * 0.35 - grow),
                    size=(f * 1.6 + 2 * grow, f * 1.0 + 2 * grow))
        # NFC waves on the card's far side
        Color(*WAVES)
        for i in range(3):
            r = s * (0.12 + 0.08 * i)
            Line(circle=(card_x + card_w + dp(6), card_y + card_h / 2, r, 50, 130), width=dp(4))
        # the QR code: three finder squares and some modules
        qx, qy, q = cx + s * 0.3, cy - s * 0.2, s * 0.42
        Color(*theme.INK)
        Line(rectangle=(qx, qy, q, q), width=dp(3))
        for fx, fy in ((0, 0), (0, 1), (1, 1)):
            Rectangle(pos=(qx + dp(6) + fx * (q - q * 0.3 - dp(12)), qy + dp(6) + fy * (q - q * 0.3 - dp(12))),
                      size=(q * 0.3, q * 0.3))
        for i, j in ((2, 1), (3, 2), (1, 3), (3, 0), (2, 3)):
            Rectangle(pos=(qx + q * 0.1 * (i + 3), qy + q * 0.1 * (j + 3)), size=(q * 0.08, q * 0.08))
        # the arrow to the reader
        Color(*theme.BUTTON)
        ax, ay = cx + dx * s * 0.9, cy + dy * s * 0.45
        length = s * 0.3
        tail = (ax - dx * length, ay - dy * length)
        Line(points=[*tail, ax, ay], width=dp(9))
        px, py = -dy, dx  # perpendicular
        h = s * 0.12
        Line(points=[ax - dx * h + px * h, ay - dy * h + py * h, ax, ay, ax - dx * h - px * h, ay - dy * h - py * h],
             width=dp(9))


class PausedPicture(Drawn):
    """A person at a desk and a large pause sign: "wait for the staff"."""

    def draw_paused(self) -> None:
        s = min(self.width, self.height)
        cx, cy = self.center_x, self.center_y
        Color(*self.ink)
        Line(circle=(cx - s * 0.25, cy, s * 0.3), width=dp(7))
        Rectangle(pos=(cx - s * 0.36, cy - s * 0.15), size=(s * 0.07, s * 0.3))
        Rectangle(pos=(cx - s * 0.21, cy - s * 0.15), size=(s * 0.07, s * 0.3))
        # the staff member: head and shoulders
        Ellipse(pos=(cx + s * 0.28, cy + s * 0.05), size=(s * 0.18, s * 0.18))
        Line(points=[cx + s * 0.17, cy - s * 0.3, cx + s * 0.2, cy - s * 0.05, cx + s * 0.37, cy + s * 0.02,
                     cx + s * 0.54, cy - s * 0.05, cx + s * 0.57, cy - s * 0.3], width=dp(6))
