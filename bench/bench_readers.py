"""Readers: NFC read → agent event latency over nfcpy's udp device; QR decode time per
640×480 frame and the decode rate on the distorted set.

Baselines in the same run: zxing-cpp on the undistorted frames (the decoder's own floor),
and the nfcpy udp device's raw read of the same tag (no agent)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.result import Result, median, percentile
from kiosk.reader.camera import decode_frame
from records import card
from tests.support.county import TestCounty
from tests.support.kiosk import KioskSetup
from tests.support.nfc_tag import EmulatedTag
from tests.support.ports import free_port
from tests.support.qr_images import H, W, frames, qr_image

GROUP = "Card readers (issue 7)"


def nfc_latency(county: TestCounty, n: int) -> tuple[list[float], list[float]]:
    """(tag presented → tap.result at a screen, raw nfcpy read of the same tag), seconds."""
    import nfc

    message = card.to_ndef(county.card_bytes(county.credential()))
    raw = []
    for _ in range(n):
        tag = EmulatedTag(message).present()
        with nfc.ContactlessFrontend(tag.device) as clf:  # the reader waits; the tag is there
            t0 = time.perf_counter()
            clf.connect(rdwr={"targets": ["212F"], "on-connect": lambda t: bool(t.ndef.octets) and False})
            raw.append(time.perf_counter() - t0)
        tag.remove()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()  # where every card of the run will be presented
        kiosk = KioskSetup(county, Path(tmp) / "kiosk")
        kiosk.set("readers", "enabled", ["nfc"])
        kiosk.set("readers", "nfc_device", f"udp:localhost:{port}")
        kiosk.set("rules", "debounce_seconds", 0)
        agent_latency = []
        with kiosk.running():
            screen = kiosk.client()
            time.sleep(0.5)
            for _ in range(n):
                tag = EmulatedTag(card.to_ndef(county.card_bytes(county.credential())), port=port)
                t0 = time.perf_counter()
                tag.present(settle=0)  # the card arrives: from here to the result on the screen
                screen.next_event("tap.result")
                agent_latency.append(time.perf_counter() - t0)
                tag.remove()
            screen.close()
    return agent_latency, raw


def run(quick: bool) -> list[Result]:
    county = TestCounty()
    texts = [county.qr(county.credential(name=None)) for _ in range(20)]
    distorted = frames(texts, 200)
    plain_times, deep_hits = [], 0
    for text, image, _ in distorted:
        t0 = time.perf_counter()
        decode_frame(image)
        plain_times.append(time.perf_counter() - t0)
        deep_hits += text in decode_frame(image, deep=True)
    from PIL import Image

    clean_times = []
    for text in texts:
        canvas = Image.new("L", (W, H), 160)
        code = qr_image(text, 4)
        canvas.paste(code, ((W - code.width) // 2, (H - code.height) // 2))
        t0 = time.perf_counter()
        decode_frame(canvas)
        clean_times.append(time.perf_counter() - t0)
    agent, raw = nfc_latency(county, 10 if quick else 30)
    rate = deep_hits / len(distorted)
    return [
        Result(GROUP, "QR decode per 640×480 frame, median (distorted set, plain pass)", median(plain_times) * 1000,
               "ms", "zxing-cpp on undistorted frames", median(clean_times) * 1000, "≤ 10 ms median",
               median(plain_times) <= 0.010),
        Result(GROUP, "QR decode rate on the distorted set (with the deep passes)", rate * 100, "%",
               goal="≥ 99 %", met=rate >= 0.99,
               note="The misses are 3-pixel modules under 1.2–1.5 px of Gaussian blur "
                    "(the blur's width exceeds a module); a 2× upscale and unsharp masking recover most others."),
        Result(GROUP, "NFC tag presented → tap result on screen, p50 (udp device)", median(agent) * 1000, "ms",
               "raw nfcpy read of the tag, p50", median(raw) * 1000),
        Result(GROUP, "NFC tag presented → tap result on screen, p99 (udp device)", percentile(agent, 99) * 1000,
               "ms", "raw nfcpy read of the tag, p99", percentile(raw, 99) * 1000,
               note="The NFC p99 is nfcpy's polling interval: with no card present the reader polls about twice "
                    "a second, so a card that arrives just after a poll waits for the next one. The raw baseline "
                    "starts with the tag already there."),
    ]
