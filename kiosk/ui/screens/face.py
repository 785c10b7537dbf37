"""One face of the satisfaction rating: a large button with a drawn face — a circle, two
eyes and a mouth from a frown (1) to a broad smile (5) — beside its word. The word is always
there: neither the picture nor a colour says it alone."""

from __future__ import annotations

from typing import Any

from kivy.graphics import Color, Ellipse, Line
from kivy.metrics import dp
from kivy.properties import NumericProperty
from kivy.uix.button import Button

from kiosk.ui import theme


def mouth(cx: float, cy: float, r: float, score: int, steps: int = 12) -> list[float]:
    """Points of the mouth: corners up for a smile (score > 3), down for a frown (< 3),
    a straight line at 3."""
    curve = (score - 3) / 2  # -1 … +1
    points: list[float] = []
    for i in range(steps + 1):
        u = -1 + 2 * i / steps
        points += [cx + u * r * 0.5, cy - r * 0.4 + curve * r * 0.28 * (u * u - 0.5)]
    return points


class FaceButton(Button):
    score = NumericProperty(3)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self.draw, size=self.draw, score=self.draw)

    def face_area(self) -> float:
        # from the row's shown height, not the current one: the row folds to 0 between
        # check-outs, and a changed padding would render the word's texture again (a frame
        # of ~30 ms a face on this machine; docs/ui.md, Memory and latency)
        return min(dp(theme.TARGET) - dp(16), dp(88))

    def on_touch_down(self, touch: Any) -> bool:
        if self.parent is not None and self.parent.opacity == 0:
            return False  # folded away with its row (not `disabled`: that too renders the word again)
        return bool(super().on_touch_down(touch))

    def draw(self, *_: Any) -> None:
        if self.height <= 0:
            return  # folded: the face drawn for the shown row stays, invisible with the row
        side = self.face_area()
        r = side / 2
        cx, cy = self.x + dp(14) + r, self.center_y
        self.padding = [dp(14) + side, 0, dp(8), 0]  # the word sits to the right of the face
        self.canvas.after.clear()
        with self.canvas.after:
            Color(*theme.BUTTON_TEXT)
            Line(circle=(cx, cy, r - dp(2)), width=dp(2.5))
            for dx in (-0.35, 0.35):
                Ellipse(pos=(cx + dx * r - r * 0.11, cy + r * 0.15), size=(r * 0.22, r * 0.22))
            Line(points=mouth(cx, cy, r, int(self.score)), width=dp(2.5))
