"""Read back what an ESC/POS printer would print: the raster images (``GS v 0``) in a byte
stream, stacked into one Pillow image — so a test can decode the QR code it carries."""

from __future__ import annotations

from typing import Any

GS_V_0 = b"\x1dv0"


def raster_image(data: bytes) -> Any:
    """Every ``GS v 0 m xL xH yL yH d…`` block in ``data``, top to bottom, as one 1-bit image."""
    from PIL import Image

    parts = []
    at = data.find(GS_V_0)
    while at >= 0:
        x_bytes = data[at + 4] + 256 * data[at + 5]
        rows = data[at + 6] + 256 * data[at + 7]
        start = at + 8
        bits = data[start:start + x_bytes * rows]
        if len(bits) != x_bytes * rows:
            raise ValueError("a raster block is cut short")
        # ESC/POS: a set bit prints a black dot; Pillow's "1" mode: a set bit is white
        parts.append(Image.frombytes("1", (x_bytes * 8, rows), bytes(b ^ 0xFF for b in bits)))
        at = data.find(GS_V_0, start + len(bits))
    if not parts:
        raise ValueError("no raster image in the printer's output")
    out = Image.new("1", (max(p.width for p in parts), sum(p.height for p in parts)), 1)
    y = 0
    for p in parts:
        out.paste(p, (0, y))
        y += p.height
    return out
