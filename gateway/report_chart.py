"""Report charts as PNG bar charts (Pillow; labels in Chinese and English).

One measure per chart and per axis (attendances and hours never share an axis), and axis
ticks that are whole numbers on a 1-2-5 step: 0, 2, 4, 6 — never 0, 2, 4, 5, 7.
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

FONT_FILES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian fonts-wqy-microhei
              "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
WIDTH, HEIGHT = 1000, 560
LEFT, RIGHT, TOP, BOTTOM = 90, 40, 80, 90
BLUE, ORANGE, INK, GRID = (31, 90, 167), (214, 110, 20), (20, 20, 20), (220, 220, 220)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    for path in FONT_FILES:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def ticks(top: float, most: int = 6) -> list[int]:
    """Whole-number ticks from 0 past ``top`` on a 1-2-5 × 10ⁿ step, at most ``most`` steps."""
    if top <= 0:
        return [0, 1]
    step = 1
    for exponent in range(0, 12):
        for mantissa in (1, 2, 5):
            step = mantissa * 10 ** exponent
            if math.ceil(top / step) <= most:
                count = math.ceil(top / step)
                return [step * i for i in range(count + 1)]
    return [0, step]


def monthly(cells: list[dict[str, Any]]) -> list[tuple[str, int, float]]:
    """(month, attendances, hours credited) summed over the old report's venue/course cells."""
    att: dict[str, int] = defaultdict(int)
    hours: dict[str, float] = defaultdict(float)
    for c in cells:
        att[c["month"]] += c["attendances"]
        hours[c["month"]] += c["hours_credited"]
    return [(m, att[m], round(hours[m], 1)) for m in sorted(att)]


def bars(title: str, unit: str, data: list[tuple[str, float]], colour: tuple[int, int, int] = BLUE) -> bytes:
    """One measure: a bar per label, the axis in ``unit`` with whole-number ticks."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    big, small = _font(26), _font(16)
    draw.text((LEFT, 24), title, fill=INK, font=big)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    marks = ticks(max([0.0] + [v for _, v in data]))
    top_value = marks[-1]
    for mark in marks:
        y = TOP + plot_h - plot_h * mark / top_value
        draw.line((LEFT, y, WIDTH - RIGHT, y), fill=GRID)
        draw.text((10, y - 9), str(mark), fill=INK, font=small)
    draw.text((LEFT + 4, TOP - 24), unit, fill=INK, font=small)
    slot = plot_w / max(1, len(data))
    bar = min(80.0, slot / 2)
    for i, (label, value) in enumerate(data):
        x = LEFT + slot * i + slot / 2 - bar / 2
        height = plot_h * value / top_value
        draw.rectangle((x, TOP + plot_h - height, x + bar, TOP + plot_h), fill=colour)
        draw.text((x, TOP + plot_h - height - 20), f"{value:g}", fill=INK, font=small)
        draw.text((x, TOP + plot_h + 10), label, fill=INK, font=small)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def render(cells: list[dict[str, Any]], title: str = "月度学习人次 / Attendances by month") -> bytes:
    """The old report's monthly chart: attendances only (hours have their own chart)."""
    return bars(title, "人次 / attendances", [(m, a) for m, a, _ in monthly(cells)])
