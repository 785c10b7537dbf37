"""QR learning cards shown to a camera: frames decoded with zxing-cpp (QR codes only, on a
grey image), tolerant of rotation, blur, glare and a phone screen.

The decoder (:func:`decode_frame`) is separate from the capture: frames come from a source
object with ``read() -> grey image | None``. The source is OpenCV's capture (the kiosk extra
installs ``opencv-python-headless``): a V4L2 camera by index or device path, or a video file
(tests, and a technician checking the decoder). One presentation is one scan: the same text
seen again within ``repeat_seconds`` is not emitted again.

Only learning-card codes (``LC1:``) and walk-in slips (``LCT1:``; version 1's ``LCT:``
to be told it is old) reach the agent: any other
code held to the camera (a web address, a Wi-Fi code, a phone's payment code) is dropped
here, counted in the reader's status, and never recorded.

Each frame gets one plain pass (a few milliseconds). When it finds nothing, the frame may be
handed to a second thread for the deeper passes (10–100 ms), which never delay the next frame:
while that thread is busy, frames are not handed to it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from kiosk.reader.base import READY, CardRead, Emit, ReportStatus, keep_open
from records import slip
from records.card import QR_PREFIX

log = logging.getLogger(__name__)

NO_CAMERA = "摄像头未连接 / the camera is not connected"
CARD_PREFIXES = (QR_PREFIX, slip.QR_PREFIX, slip.OLD_PREFIX)  # an old slip gets its own answer


def is_card_text(text: str) -> bool:
    """A learning card's or a walk-in slip's code (the prefix as printed, upper case)."""
    return text.startswith(CARD_PREFIXES)


def _read(image: Any) -> list[str]:
    import zxingcpp

    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode) if r.valid]


def decode_frame(gray: Any, deep: bool = False) -> list[str]:
    """Every QR code's text in a grey frame (a numpy array or a Pillow 'L' image).

    ``deep``: when the plain pass finds nothing, try again twice the size and then sharpened
    (small, blurred codes: 3-pixel modules under 1.2–1.5 px of blur). That costs 10–100 ms,
    so the camera reader does it on one frame in a few, never on every frame.
    """
    found = _read(gray)
    if found or not deep:
        return found
    from PIL import Image, ImageFilter

    image = gray if isinstance(gray, Image.Image) else Image.fromarray(gray)
    big = image.resize((image.width * 2, image.height * 2), Image.Resampling.BICUBIC)
    for candidate in (big, big.filter(ImageFilter.UnsharpMask(radius=3, percent=250, threshold=0)),
                      big.filter(ImageFilter.UnsharpMask(radius=4, percent=400, threshold=0))):
        found = _read(candidate)
        if found:
            return found
    return []


class OpenCvSource:
    """Grey frames from a V4L2 camera (an index, or a device path such as
    ``/dev/v4l/by-id/…-video-index0``, which stays the same when the camera is plugged into
    another port) or from a video file, through OpenCV. The end of a file, or a camera that
    stops delivering, is an unplugged camera."""

    def __init__(self, device: int | str, width: int = 640, height: int = 480) -> None:
        try:
            import cv2
        except ImportError as err:
            raise OSError("OpenCV is not installed: pip install 'learncard[kiosk]'") from err
        self.cv2 = cv2
        self.capture = cv2.VideoCapture(device)
        if not self.capture.isOpened():
            raise OSError(f"camera {device} cannot be opened")
        self.capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self.capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)

    def read(self) -> Any:
        ok, frame = self.capture.read()
        if not ok:
            raise OSError("the camera stopped delivering frames")
        return self.cv2.cvtColor(frame, self.cv2.COLOR_BGR2GRAY)

    def close(self) -> None:
        self.capture.release()


class CameraReader:
    name = "camera"

    def __init__(self, source: Callable[[], Any], *, repeat_seconds: float = 3.0, retry_seconds: float = 5.0,
                 deep_every: int = 5, clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.deep_every = deep_every
        self._frames = 0
        self.repeat_seconds = repeat_seconds
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.ignored = 0  # codes that were not learning cards, dropped before the agent
        self._last: dict[str, float] = {}
        self._deep: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._lock = threading.Lock()

    def frame(self, gray: Any, emit: Emit, status: ReportStatus | None = None) -> None:
        """One frame's plain pass; nothing found → maybe a deep pass on the other thread."""
        self._frames += 1
        found = decode_frame(gray)
        if found:
            self.seen(found, emit, status)
        elif self._frames % self.deep_every == 0:
            try:
                self._deep.put_nowait(gray)
            except queue.Full:
                pass  # the deep thread is still busy with an earlier frame

    def seen(self, texts: list[str], emit: Emit, status: ReportStatus | None) -> None:
        with self._lock:  # both threads report what they found
            now = self.clock()
            for text in texts:
                seen = self._last.get(text)
                self._last[text] = now
                if seen is not None and now - seen <= self.repeat_seconds:
                    continue
                if is_card_text(text):
                    emit(CardRead(how="qr", reader=self.name, text=text))
                    continue
                self.ignored += 1
                log.info("a code that is not a learning card was shown to the camera; ignored")
                if status is not None:
                    status(self.name, READY, self.ignored_detail())

    def ignored_detail(self) -> str:
        return f"已忽略 {self.ignored} 个非学习卡二维码 / {self.ignored} codes that are not learning cards ignored"

    def deep_passes(self, emit: Emit, status: ReportStatus, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                gray = self._deep.get(timeout=0.2)
            except queue.Empty:
                continue
            found = decode_frame(gray, deep=True)
            if found:
                self.seen(found, emit, status)

    def run(self, emit: Emit, status: ReportStatus, stop: threading.Event) -> None:
        deep = threading.Thread(target=self.deep_passes, args=(emit, status, stop), name="camera-deep", daemon=True)
        deep.start()

        def read_frames(source: Any) -> None:
            if self.ignored:
                status(self.name, READY, self.ignored_detail())
            while not stop.is_set():
                gray = source.read()
                if gray is not None:
                    self.frame(gray, emit, status)

        try:
            keep_open(self.name, self.source, read_frames, status, stop, what="camera", unplugged=NO_CAMERA,
                      retry_seconds=self.retry_seconds)
        finally:
            deep.join(timeout=5)


def from_config(section: dict[str, Any]) -> CameraReader:
    source = str(section.get("camera_source") or "")
    device: int | str = source or int(section["camera_device"])
    return CameraReader(lambda: OpenCvSource(device))
