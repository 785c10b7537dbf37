"""The monthly figures as a PNG bar chart (Pillow; labels in Chinese and English)."""

from __future__ import annotations

import io
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


def monthly(cells: list[dict[str, Any]]) -> list[tuple[str, int, float]]:
    """(month, attendances, hours credited) summed over venues and courses."""
    att: dict[str, int] = defaultdict(int)
    hours: dict[str, float] = defaultdict(float)
    for c in cells:
        att[c["month"]] += c["attendances"]
        hours[c["month"]] += c["hours_credited"]
    return [(m, att[m], round(hours[m], 1)) for m in sorted(att)]


def render(cells: list[dict[str, Any]], title: str = "月度统计 / Monthly figures") -> bytes:
    data = monthly(cells)
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    big, small = _font(26), _font(16)
    draw.text((LEFT, 24), title, fill=INK, font=big)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top_value = max([1.0] + [max(a, h) for _, a, h in data])
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        draw.line((LEFT, y, WIDTH - RIGHT, y), fill=GRID)
        draw.text((10, y - 9), f"{top_value * i / 4:.0f}", fill=INK, font=small)
    slot = plot_w / max(1, len(data))
    bar = min(60.0, slot / 3)
    for i, (month, attendances, hours) in enumerate(data):
        x = LEFT + slot * i + slot / 2
        for offset, value, colour in ((-bar, attendances, BLUE), (0.0, hours, ORANGE)):
            height = plot_h * value / top_value
            draw.rectangle((x + offset, TOP + plot_h - height, x + offset + bar - 2, TOP + plot_h), fill=colour)
            draw.text((x + offset, TOP + plot_h - height - 20), f"{value:g}", fill=INK, font=small)
        draw.text((x - bar, TOP + plot_h + 10), month, fill=INK, font=small)
    legend_y = HEIGHT - 40
    draw.rectangle((LEFT, legend_y, LEFT + 18, legend_y + 18), fill=BLUE)
    draw.text((LEFT + 26, legend_y - 1), "签到人次 / attendances", fill=INK, font=small)
    draw.rectangle((LEFT + 300, legend_y, LEFT + 318, legend_y + 18), fill=ORANGE)
    draw.text((LEFT + 326, legend_y - 1), "认定学时 / hours credited", fill=INK, font=small)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
