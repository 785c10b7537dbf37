"""QR learning cards shown to a camera: frames decoded with zxing-cpp (QR codes only, on a
grey image), tolerant of rotation, blur, glare and a phone screen.

The decoder (:func:`decode_frame`) is separate from the capture: frames come from a source
object with ``read() -> grey image | None``. The default source uses OpenCV's V4L2 capture
when it is installed (it is heavy — about 226 MB with numpy —, so it is not a dependency:
``pip install opencv-python-headless`` on a kiosk with a camera). One presentation is one
scan: the same text seen again within ``repeat_seconds`` is not emitted again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from kiosk.reader.base import CardRead, Emit, ReportStatus, keep_open

NO_CAMERA = "摄像头未连接 / the camera is not connected"


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
    """Grey frames from a V4L2 camera through OpenCV (imported only when used)."""

    def __init__(self, index: int, width: int = 640, height: int = 480) -> None:
        try:
            import cv2
        except ImportError as err:
            raise OSError("OpenCV is not installed: pip install opencv-python-headless") from err
        self.cv2 = cv2
        self.capture = cv2.VideoCapture(index)
        if not self.capture.isOpened():
            raise OSError(f"camera {index} cannot be opened")
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
        self._last: dict[str, float] = {}

    def frame(self, gray: Any, emit: Emit) -> None:
        now = self.clock()
        self._frames += 1
        for text in decode_frame(gray, deep=self._frames % self.deep_every == 0):
            seen = self._last.get(text)
            self._last[text] = now
            if seen is None or now - seen > self.repeat_seconds:
                emit(CardRead(how="qr", reader=self.name, text=text))

    def run(self, emit: Emit, status: ReportStatus, stop: threading.Event) -> None:
        def read_frames(source: Any) -> None:
            while not stop.is_set():
                gray = source.read()
                if gray is not None:
                    self.frame(gray, emit)

        keep_open(self.name, self.source, read_frames, status, stop, what="camera", unplugged=NO_CAMERA,
                  retry_seconds=self.retry_seconds)


def from_config(section: dict[str, Any]) -> CameraReader:
    index = int(section["camera_device"])
    return CameraReader(lambda: OpenCvSource(index))
