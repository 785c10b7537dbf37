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

from bench.result import Result, Samples, interleave_samples, percentile
from kiosk.reader.camera import CameraReader, decode_frame
from kiosk.reader.nfc import POLL_INTERVAL
from records import card
from tests.support.county import TestCounty
from tests.support.kiosk import KioskSetup
from tests.support.nfc_field import NfcField
from tests.support.ntag21x import memory_image
from tests.support.qr_images import H, W, frames, qr_image

GROUP = "Card readers (issues 7 and 16)"


ROUNDS = 5
SHARED = "The two-core machine was shared with other helpers' work; figure and baseline ran in interleaved rounds."


def raw_nfc(field: NfcField, cards: list[bytes]) -> list[float]:
    """Plain nfcpy, each card already in the field: connect → NDEF read, seconds."""
    import nfc

    times = []
    with nfc.ContactlessFrontend(field.device) as clf:
        for memory in cards:
            field.present(memory)
            t0 = time.perf_counter()
            clf.connect(rdwr={"targets": ["106A"], "on-connect": lambda t: bool(t.ndef.octets) and False})
            times.append(time.perf_counter() - t0)
            field.remove()
    return times


def nfc_latency(county: TestCounty, n: int) -> Samples:
    """Card presented → tap.result at a screen, beside a raw nfcpy read of the same cards, in
    interleaved rounds, seconds. Each presentation is a different card; the next is presented
    once the reader has seen the last one go and polls again (the field counts polls nobody
    answered), at a random moment within one poll interval after that poll — a resident does
    not tap in step with the reader."""
    rng = random.Random(16)
    cards = [memory_image("NTAG213", card.to_ndef(county.card_bytes(county.credential()))) for _ in range(n)]
    per = n // ROUNDS
    with tempfile.TemporaryDirectory() as tmp, NfcField() as field, NfcField() as raw_field:
        kiosk = KioskSetup(county, Path(tmp) / "kiosk")
        kiosk.set("readers", "enabled", ["nfc"])
        kiosk.set("readers", "nfc_device", field.device)
        kiosk.set("rules", "debounce_seconds", 0)
        with kiosk.running():
            screen = kiosk.client()

            def agent(i: int) -> list[float]:
                out = []
                for memory in cards[i * per:(i + 1) * per]:
                    field.wait_for_polls()
                    time.sleep(rng.uniform(0, POLL_INTERVAL))
                    t0 = time.perf_counter()
                    field.present(memory)  # the card arrives: from here to the result on the screen
                    screen.next_event("tap.result")
                    out.append(time.perf_counter() - t0)
                    field.remove()
                return out

            got = interleave_samples(ROUNDS, agent, lambda i: raw_nfc(raw_field, cards[i * per:(i + 1) * per]))
            screen.close()
    return got


def camera_frames(distorted: list, n: int) -> Samples:
    """The camera reader's time per frame beside zxing-cpp alone on the same frames, seconds,
    over ``n`` frames cycling through the distorted set in interleaved rounds, the deep passes
    running on their thread."""
    import threading

    import numpy as np
    import zxingcpp

    arrays = [np.asarray(image) for _, image, _ in distorted]
    per = n // ROUNDS

    def raw(i: int) -> list[float]:
        out = []
        for k in range(i * per, (i + 1) * per):
            t0 = time.perf_counter()
            zxingcpp.read_barcodes(arrays[k % len(arrays)], formats=zxingcpp.BarcodeFormat.QRCode)
            out.append(time.perf_counter() - t0)
        return out

    reader = CameraReader(lambda: None, repeat_seconds=0)
    stop = threading.Event()
    deep = threading.Thread(target=reader.deep_passes, args=(lambda r: None, lambda *a: None, stop), daemon=True)
    deep.start()

    def per_frame(i: int) -> list[float]:
        out = []
        for k in range(i * per, (i + 1) * per):
            t0 = time.perf_counter()
            reader.frame(arrays[k % len(arrays)], lambda r: None)
            out.append(time.perf_counter() - t0)
            time.sleep(max(0.0, 1 / 30 - (time.perf_counter() - t0)))  # a camera's 30 frames a second
        return out

    got = interleave_samples(ROUNDS, per_frame, raw)
    stop.set()
    deep.join(timeout=10)
    return got


def decode_times(images: list) -> list[float]:
    out = []
    for image in images:
        t0 = time.perf_counter()
        decode_frame(image)
        out.append(time.perf_counter() - t0)
    return out


def clean_frame(text: str) -> object:
    from PIL import Image

    canvas = Image.new("L", (W, H), 160)
    code = qr_image(text, 4)
    canvas.paste(code, ((W - code.width) // 2, (H - code.height) // 2))
    return canvas


def run(quick: bool) -> list[Result]:
    county = TestCounty()
    texts = [county.qr(county.credential(name=None)) for _ in range(20)]
    distorted = frames(texts, 200)
    clean = [clean_frame(text) for text, _, _ in distorted]  # the same codes, undistorted
    plain = interleave_samples(ROUNDS, lambda _: decode_times([image for _, image, _ in distorted]),
                               lambda _: decode_times(clean))
    deep_hits = sum(text in decode_frame(image, deep=True) for text, image, _ in distorted)
    n = 100 if quick else 1000
    camera = camera_frames(distorted, n)
    nfc_got = nfc_latency(county, n)
    rate = deep_hits / len(distorted)
    p99_frame = percentile(camera.pooled, 99)
    p99_nfc = percentile(nfc_got.pooled, 99)
    return [
        Result.of_samples(GROUP, "QR decode per 640×480 frame, median (distorted set, plain pass)", plain, 50,
                          "ms", "zxing-cpp on the same codes undistorted", "≤ 10 ms median",
                          percentile(plain.pooled, 50) <= 0.010,
                          note=f"{ROUNDS} rounds of the 200 distorted frames and their 200 undistorted twins. "
                               + SHARED, scale=1000),
        Result.of_samples(GROUP, "camera reader, time per frame, median (deep passes on their thread)", camera, 50,
                          "ms", "zxing-cpp alone on the same frames, median", scale=1000),
        Result.of_samples(GROUP, "camera reader, time per frame, p99 (deep passes on their thread)", camera, 99,
                          "ms", "zxing-cpp alone on the same frames, p99", "p99 ≤ 20 ms", p99_frame <= 0.020,
                          note="Frames fed at 30 a second; a frame with no code found goes to the deep passes' "
                               "thread when it is free (zxing-cpp releases the interpreter lock while it decodes). "
                               + SHARED, scale=1000),
        Result(GROUP, f"QR decode rate on the distorted set (with the deep passes; {len(distorted)} frames)",
               rate * 100, "%", goal="≥ 99 %", met=rate >= 0.99,
               note="The misses are 3-pixel modules under 1.2–1.5 px of Gaussian blur "
                    "(the blur's width exceeds a module); a 2× upscale and unsharp masking recover most others."),
        Result.of_samples(GROUP, "NFC NTAG213 presented → tap result on screen, p50 (simulated field)", nfc_got, 50,
                          "ms", "raw nfcpy read of the same cards, p50", scale=1000),
        Result.of_samples(GROUP, "NFC NTAG213 presented → tap result on screen, p99 (simulated field)", nfc_got, 99,
                          "ms", "raw nfcpy read of the same cards, p99", "p99 ≤ 250 ms", p99_nfc <= 0.250,
                          scale=1000,
                          note="nfcpy's own Type 2 code (sense_tta, tt2_nxp, NDEF) over its udp device, polling "
                               "every 50 ms (`nfc_poll_ms`), the chip simulated in its own process; each of the "
                               "cards a different one, presented at a random moment within a poll interval once "
                               "the reader polls the empty field again. The raw baseline reads the same cards, each "
                               "already in the field (no waiting for a poll). A real reader adds the air "
                               "time: about 12 exchanges for an NTAG213 credential (activation, the product probes, "
                               "nine 16-byte READs) at 106 kbit/s plus the "
                               "reader's USB or serial round trip per exchange — an estimate of 30–60 ms on an "
                               "RC-S380, more on a PN532 over a 115200-baud UART; not measured (no reader here). "
                               + SHARED),
    ]
