"""Readers: NFC card presented → tap result at the agent's screen, through nfcpy's Type 2 code
and the simulated NTAG213 field; QR decode time per 640×480 frame through the camera reader,
and the decode rate on the distorted set.

Baselines in the same run: plain nfcpy reading the same simulated card (no agent), and
zxing-cpp alone on the same frames."""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from bench.result import Result, median, percentile
from kiosk.reader.camera import CameraReader, decode_frame
from kiosk.reader.nfc import POLL_INTERVAL
from records import card
from tests.support.county import TestCounty
from tests.support.kiosk import KioskSetup
from tests.support.nfc_field import NfcField
from tests.support.ntag21x import memory_image
from tests.support.qr_images import H, W, frames, qr_image

GROUP = "Card readers (issues 7 and 16)"


def raw_nfc(field: NfcField, memory: bytes, n: int) -> list[float]:
    """Plain nfcpy: the card already in the field, connect → NDEF read, seconds."""
    import nfc

    field.present(memory)
    times = []
    with nfc.ContactlessFrontend(field.device) as clf:
        for _ in range(n):
            t0 = time.perf_counter()
            clf.connect(rdwr={"targets": ["106A"], "on-connect": lambda t: bool(t.ndef.octets) and False})
            times.append(time.perf_counter() - t0)
    field.remove()
    return times


def nfc_latency(county: TestCounty, n: int) -> tuple[list[float], list[float]]:
    """(card presented → tap.result at a screen, raw nfcpy read of the same card), seconds.
    Each presentation is a different card; the next is presented once the reader has seen the
    last one go and polls again (the field counts polls nobody answered), at a random moment
    within one poll interval after that poll — a resident does not tap in step with the reader."""
    rng = random.Random(16)
    cards = [memory_image("NTAG213", card.to_ndef(county.card_bytes(county.credential()))) for _ in range(n)]
    with NfcField() as field:
        raw = raw_nfc(field, cards[0], n)
    with tempfile.TemporaryDirectory() as tmp, NfcField() as field:
        kiosk = KioskSetup(county, Path(tmp) / "kiosk")
        kiosk.set("readers", "enabled", ["nfc"])
        kiosk.set("readers", "nfc_device", field.device)
        kiosk.set("rules", "debounce_seconds", 0)
        agent_latency = []
        with kiosk.running():
            screen = kiosk.client()
            for memory in cards:
                field.wait_for_polls()
                time.sleep(rng.uniform(0, POLL_INTERVAL))
                t0 = time.perf_counter()
                field.present(memory)  # the card arrives: from here to the result on the screen
                screen.next_event("tap.result")
                agent_latency.append(time.perf_counter() - t0)
                field.remove()
            screen.close()
    return agent_latency, raw


def camera_frames(distorted: list, n: int) -> tuple[list[float], list[float]]:
    """(the camera reader's time per frame, zxing-cpp alone on the same frame), seconds, over
    ``n`` frames cycling through the distorted set, the deep passes running on their thread."""
    import threading

    import numpy as np
    import zxingcpp

    arrays = [np.asarray(image) for _, image, _ in distorted]
    raw = []
    for i in range(n):
        t0 = time.perf_counter()
        zxingcpp.read_barcodes(arrays[i % len(arrays)], formats=zxingcpp.BarcodeFormat.QRCode)
        raw.append(time.perf_counter() - t0)
    reader = CameraReader(lambda: None, repeat_seconds=0)
    stop = threading.Event()
    deep = threading.Thread(target=reader.deep_passes, args=(lambda r: None, lambda *a: None, stop), daemon=True)
    deep.start()
    per_frame = []
    for i in range(n):
        t0 = time.perf_counter()
        reader.frame(arrays[i % len(arrays)], lambda r: None)
        per_frame.append(time.perf_counter() - t0)
        time.sleep(max(0.0, 1 / 30 - (time.perf_counter() - t0)))  # a camera's 30 frames a second
    stop.set()
    deep.join(timeout=10)
    return per_frame, raw


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
    n = 100 if quick else 1000
    frame_times, zxing_times = camera_frames(distorted, n)
    agent, raw = nfc_latency(county, n)
    rate = deep_hits / len(distorted)
    return [
        Result(GROUP, "QR decode per 640×480 frame, median (distorted set, plain pass)", median(plain_times) * 1000,
               "ms", "zxing-cpp on undistorted frames", median(clean_times) * 1000, "≤ 10 ms median",
               median(plain_times) <= 0.010),
        Result(GROUP, f"camera reader, time per frame, p99 (n={n}, deep passes on their thread)",
               percentile(frame_times, 99) * 1000, "ms", "zxing-cpp alone on the same frames, p99",
               percentile(zxing_times, 99) * 1000, "p99 ≤ 20 ms", percentile(frame_times, 99) <= 0.020,
               note=f"Median {median(frame_times) * 1000:.2f} ms "
                    f"(zxing-cpp alone {median(zxing_times) * 1000:.2f} ms). "
                    "Frames fed at 30 a second; a frame with no code found goes to the deep passes' thread when "
                    "it is free (zxing-cpp releases the interpreter lock while it decodes)."),
        Result(GROUP, "QR decode rate on the distorted set (with the deep passes)", rate * 100, "%",
               goal="≥ 99 %", met=rate >= 0.99,
               note="The misses are 3-pixel modules under 1.2–1.5 px of Gaussian blur "
                    "(the blur's width exceeds a module); a 2× upscale and unsharp masking recover most others."),
        Result(GROUP, f"NFC NTAG213 presented → tap result on screen, p50 (n={n}, simulated field)",
               median(agent) * 1000, "ms", "raw nfcpy read of the same card, p50", median(raw) * 1000),
        Result(GROUP, f"NFC NTAG213 presented → tap result on screen, p99 (n={n}, simulated field)",
               percentile(agent, 99) * 1000, "ms", "raw nfcpy read of the same card, p99", percentile(raw, 99) * 1000,
               "p99 ≤ 250 ms", percentile(agent, 99) <= 0.250,
               note="nfcpy's own Type 2 code (sense_tta, tt2_nxp, NDEF) over its udp device, polling every 50 ms "
                    "(`nfc_poll_ms`), the chip simulated in its own process; each of the cards a different one, "
                    "presented at a random moment within a poll interval once the reader polls the empty field "
                    "again. The raw baseline starts with the card already there. A real reader adds the air "
                    "time: about 12 exchanges for an NTAG213 credential (activation, the product probes, "
                    "nine 16-byte READs) at 106 kbit/s plus the "
                    "reader's USB or serial round trip per exchange — an estimate of 30–60 ms on an RC-S380, "
                    "more on a PN532 over a 115200-baud UART; not measured (no reader here)."),
    ]
