"""A deterministic set of distorted camera frames (640×480, grey) of real credentials' QR
codes: rotation up to ±30°, perspective tilt up to 20°, Gaussian blur σ up to 1.5 px, noise
σ up to 15/255, contrast down to 40 %, module size down to 3 px, some on a phone screen with
glare."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import qrcode
from PIL import Image, ImageDraw, ImageFilter

W, H = 640, 480
SUPERSAMPLE = 4


def qr_image(text: str, module: int) -> Image.Image:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=module, border=4)
    qr.add_data(text)
    return qr.make_image().get_image().convert("L")


def _perspective(img: Image.Image, tilt_deg: float, rng: random.Random) -> Image.Image:
    w, h = img.size
    shrink = math.sin(math.radians(tilt_deg)) * 0.5
    dx, dy = w * shrink * rng.choice([-1, 1]) / 2, h * shrink * rng.choice([-1, 1]) / 2
    # map the output quad back to the input square (a tilted card)
    quad = [(0 + max(dx, 0), 0), (w - max(-dx, 0), 0 + max(dy, 0)), (w, h - max(-dy, 0)), (0, h)]
    return img.transform((w, h), Image.Transform.QUAD, [c for p in quad for c in p], Image.Resampling.BILINEAR,
                         fillcolor=255)


def frame(text: str, rng: random.Random) -> tuple[Image.Image, dict[str, float]]:
    module = rng.choice([3, 3, 4, 5, 6])
    rot = rng.uniform(-30, 30)
    tilt = rng.uniform(0, 20)
    blur = rng.uniform(0, 1.5)
    noise = rng.uniform(0, 15)
    contrast = rng.uniform(0.4, 1.0)
    phone = rng.random() < 0.3
    # the scene is drawn 4× larger and scaled down, as a camera sees a sharp card: the
    # module size is the final one, the blur is only the blur asked for
    scale = SUPERSAMPLE
    code = qr_image(text, module * scale)
    if phone:  # a phone screen: dark bezel around a lit screen, glare across it
        pad = module * scale * 6
        screen = Image.new("L", (code.width + 2 * pad, code.height + 4 * pad), 235)
        screen.paste(code, (pad, 2 * pad))
        bezel = Image.new("L", (screen.width + 24 * scale, screen.height + 24 * scale), 25)
        bezel.paste(screen, (12 * scale, 12 * scale))
        code = bezel
    code = _perspective(code, tilt, rng)
    code = code.rotate(rot, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=180)
    code = code.resize((code.width // scale, code.height // scale), Image.Resampling.BOX)
    canvas = Image.new("L", (W, H), rng.randint(120, 200))
    if code.width > W or code.height > H:
        code.thumbnail((W - 10, H - 10))
    canvas.paste(code, (rng.randint(0, W - code.width), rng.randint(0, H - code.height)))
    if phone:  # glare: a soft bright ellipse
        glare = Image.new("L", (W, H), 0)
        x, y = rng.randint(0, W), rng.randint(0, H)
        ImageDraw.Draw(glare).ellipse((x - 120, y - 60, x + 120, y + 60), fill=110)
        glare = glare.filter(ImageFilter.GaussianBlur(40))
        canvas = Image.fromarray(np.clip(np.asarray(canvas, dtype=np.int16) + np.asarray(glare), 0, 255).astype(np.uint8))
    if blur > 0.05:
        canvas = canvas.filter(ImageFilter.GaussianBlur(blur))
    pixels = np.asarray(canvas, dtype=np.float32)
    pixels = pixels.mean() + (pixels - pixels.mean()) * contrast
    pixels += np.random.default_rng(rng.randint(0, 2**32 - 1)).normal(0, noise, pixels.shape)
    out = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return out, {"module": module, "rotation": rot, "tilt": tilt, "blur": blur, "noise": noise,
                 "contrast": contrast, "phone": phone}


def frames(texts: list[str], n: int, seed: int = 7) -> list[tuple[str, Image.Image, dict[str, float]]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        text = texts[i % len(texts)]
        image, params = frame(text, rng)
        out.append((text, image, params))
    return out


def write_video(path: Path, scenes: list[tuple[str | None, int]], fps: int = 30) -> Path:
    """A Motion-JPEG video (what most USB cameras send) of 640×480 scenes: each scene is a QR
    code of ``text`` held in the middle of the picture (None: nothing shown) for ``count``
    frames. Written with OpenCV, read back by the camera reader's own capture."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (W, H))
    if not writer.isOpened():
        raise OSError(f"cannot write a video to {path}")
    try:
        for text, count in scenes:
            canvas = Image.new("L", (W, H), 170)
            if text is not None:
                code = qr_image(text, 4)
                canvas.paste(code, ((W - code.width) // 2, (H - code.height) // 2))
            picture = cv2.cvtColor(np.asarray(canvas), cv2.COLOR_GRAY2BGR)
            for _ in range(count):
                writer.write(picture)
    finally:
        writer.release()
    return path
