"""Speaking results aloud, offline, never blocking the screen.

Mandarin goes Hanzi → tone-numbered pinyin (pypinyin, with its phrase dictionary for
polyphones: 还可以 hai2, 银行 hang2) → espeak-ng's ``cmn-latn-pinyin`` voice, which reads
pinyin syllables with Mandarin rules. Plain ``-v cmn`` reads most Hanzi through English
rules (espeak-ng issue 1236). Why not pre-rendered clips: docs/ui.md.

Every sentence is rendered to a WAV first (``espeak-ng --stdout``) and then played by a
sink — ``aplay`` on the kiosk, a recording sink in tests — so "did it play?" has an answer:
espeak-ng itself exits 0 with no sound device, aplay does not.

Nothing of this runs on the screen's main thread. The pinyin conversion and espeak-ng run in
a renderer process of their own (``kiosk.ui.speech_worker``: pypinyin is never imported by
the screen's process); one thread here hands it the newest sentence and plays what comes
back. A newer sentence replaces one not yet spoken and cuts a playing one short."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

VOICES = {"zh_CN": "cmn-latn-pinyin", "en": "en"}
RATE = (100, 200, 140)  # words a minute: lowest, highest, default (slower than espeak's 175, for elders)
VOLUME = (20, 200, 120)  # espeak-ng amplitude
_HAN = re.compile(r"[\u3400-\u9fff]")
_PAUSE = str.maketrans({c: ", " for c in "，、；：,;:（）()《》“”\"—"} | {c: ". " for c in "。！？!?\n"})


def pinyin_text(text: str) -> str:
    """What the Mandarin voice is given: tone-numbered pinyin syllables, digits (espeak-ng's
    Mandarin reads numbers), and commas and full stops for pauses. Everything else — Latin
    letters, the * of a masked name — is left out: it would switch espeak-ng to English."""
    from pypinyin import Style, lazy_pinyin

    text = text.replace("*", "某")  # 王*明 → 王某明: the mask is said, not spelled
    text = re.sub(r"(\d{1,2}):(\d{2})", lambda m: f"{int(m[1])}点{'零' if m[2] < '10' else ''}{int(m[2])}分", text)
    words: list[str] = []
    for chunk in lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True, tone_sandhi=True,
                             errors=lambda s: [s]):
        if re.fullmatch(r"[a-z]+[1-5]", chunk):
            words.append(chunk)
            continue
        for part in re.findall(r"\d+(?:\.\d+)?|[,.]", chunk.translate(_PAUSE)):
            words.append(part.replace(".", " dian3 ") if part[0].isdigit() else part)
    spoken = " ".join(words)
    spoken = re.sub(r"\s+([,.])", r"\1", spoken)
    return re.sub(r"([,.])(?:\s*[,.])+", r"\1", spoken).strip(" ,")


def english_text(text: str) -> str:
    return re.sub(r"[*《》]", " ", text).strip()


def speech_text(text: str, language: str) -> str:
    return pinyin_text(text) if language != "en" else english_text(text)


class Sink(Protocol):
    def present(self) -> bool: ...
    def play(self, wav: bytes, stop: threading.Event) -> str: ...  # "" when it played, else why not


class AplaySink:
    """Plays through ALSA's ``aplay``, whose exit status says whether a device took it."""

    def __init__(self, device: str = "default") -> None:
        self.device = device
        self.program = shutil.which("aplay")

    def present(self) -> bool:
        cards = Path("/proc/asound/cards")
        return self.program is not None and cards.exists() and "no soundcards" not in cards.read_text()

    def play(self, wav: bytes, stop: threading.Event) -> str:
        if self.program is None:
            return "aplay is not installed (Debian alsa-utils)"
        proc = subprocess.Popen([self.program, "-q", "-D", self.device, "-"], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            assert proc.stdin is not None
            proc.stdin.write(wav)
            proc.stdin.close()
        except OSError:
            pass
        while proc.poll() is None:
            if stop.wait(0.05):
                proc.terminate()
                proc.wait()
                return ""  # cut short by the next sentence: not a fault
        error = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
        return "" if proc.returncode == 0 else (error.splitlines()[-1] if error else f"aplay exit {proc.returncode}")


@dataclass
class RecordingSink:
    """Keeps every rendered WAV that reached the sink (tests, bench)."""

    wavs: list[bytes] = field(default_factory=list)
    device: bool = True
    keep: bool = True  # False: only count and call on_play (long benchmarks)
    count: int = 0
    on_play: Callable[[bytes], None] | None = None

    def present(self) -> bool:
        return self.device

    def play(self, wav: bytes, stop: threading.Event) -> str:
        if not self.device:
            return "no sound device"
        self.count += 1
        if self.keep:
            self.wavs.append(wav)
        if self.on_play is not None:
            self.on_play(wav)
        return ""


def render(text: str, language: str, rate: int = RATE[2], volume: int = VOLUME[2]) -> bytes:
    """The sentence as a WAV (espeak-ng --stdout); raises OSError if espeak-ng is missing."""
    program = shutil.which("espeak-ng")
    if program is None:
        raise OSError("espeak-ng is not installed")
    spoken = speech_text(text, language)
    result = subprocess.run([program, "-v", VOICES.get(language, VOICES["zh_CN"]), "-s", str(rate), "-a",
                             str(volume), "--stdout", spoken], capture_output=True, timeout=30, check=False)
    if result.returncode != 0 or len(result.stdout) <= 44:
        raise OSError(f"espeak-ng failed: {result.stderr.decode(errors='replace')[-200:]}")
    return result.stdout


def tone(volume: int = VOLUME[2], seconds: float = 0.6, hz: int = 660, rate: int = 22050) -> bytes:
    """A plain test tone as a WAV, at the volume the speech would have."""
    import io
    import math
    import struct
    import wave

    amplitude = int(32767 * 0.5 * min(volume, 200) / 200)
    frames = b"".join(struct.pack("<h", int(amplitude * math.sin(2 * math.pi * hz * i / rate)))
                      for i in range(int(rate * seconds)))
    data = io.BytesIO()
    with wave.open(data, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return data.getvalue()


class RenderWorker:
    """The renderer process (``kiosk.ui.speech_worker``), started on first use and again if
    it died. ``render`` blocks on a pipe (the interpreter lock is free meanwhile) and raises
    OSError with the reason when nothing came back."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()  # warm() and the speech thread may start it at once

    def render(self, text: str, language: str, rate: int, volume: int, is_tone: bool = False) -> bytes:
        request = json.dumps({"text": text, "language": language, "rate": rate, "volume": volume,
                              "tone": is_tone}, ensure_ascii=False).encode() + b"\n"
        for attempt in (1, 2):
            proc = self._started()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(request)
                proc.stdin.flush()
                head = json.loads(proc.stdout.readline() or b"null")
                if head is None:
                    raise OSError("the speech renderer ended")
                wav = proc.stdout.read(head["size"]) if head["size"] else b""
            except (OSError, ValueError) as err:
                self.close()
                if attempt == 2:
                    raise OSError(f"speech renderer: {err}") from err
                continue
            if not head["ok"]:
                raise OSError(head["error"])
            return wav
        raise OSError("speech renderer: unreachable")  # the loop returns or raises

    def _started(self) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = subprocess.Popen([sys.executable, "-m", "kiosk.ui.speech_worker"],
                                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                              stderr=subprocess.DEVNULL)
            return self._proc

    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()  # the worker ends at the end of its input
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Speaker:
    def __init__(self, enabled: bool = True, sink: Sink | None = None, rate: int = RATE[2],
                 volume: int = VOLUME[2]) -> None:
        self.enabled = enabled
        self.sink: Sink = sink if sink is not None else AplaySink()
        self.rate, self.volume = rate, volume
        self.spoken: list[str] = []  # the sentences asked for, for logs (tests look at the sink)
        self.played = 0
        self.last_error = ""
        self.last_ok: bool | None = None
        self.last_at = 0.0
        self.first_sample_seconds: float | None = None  # asked → handed to the sink, the last one
        self._job: tuple[int, str, str, bool] | None = None
        self._generation = 0
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self.renderer = RenderWorker()
        self._thread = threading.Thread(target=self._run, name="speech", daemon=True)
        self._thread.start()

    def say(self, text: str, language: str) -> None:
        self.spoken.append(text)
        if self.enabled and text:
            self._submit(text, language, False)

    def test_tone(self) -> None:
        self._submit("", "", True)

    def _submit(self, text: str, language: str, is_tone: bool) -> None:
        with self._wake:
            self._generation += 1
            self._job = (self._generation, text, language, is_tone)
            self._stop.set()  # cut the current sentence short
            self._wake.notify()

    def close(self) -> None:
        self.renderer.close()

    def warm(self) -> None:
        """Start the renderer now (it loads pypinyin), not at the first resident's tap. The
        screen calls it after its first frame: at start-up the two compete for the cores."""
        if self.enabled:
            try:
                self.renderer._started()
            except OSError as err:
                self._done(str(err))

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._job is None:
                    self._wake.wait()
                generation, text, language, is_tone = self._job
                self._job = None
                self._stop = threading.Event()
                stop = self._stop
            asked = time.monotonic()
            try:
                wav = self.renderer.render(text, language, self.rate, self.volume, is_tone)
            except OSError as err:
                self._done(str(err))
                continue
            if generation != self._generation:
                continue  # a newer sentence came while this one was rendered
            self.first_sample_seconds = time.monotonic() - asked
            self._done(self.sink.play(wav, stop))

    def _done(self, error: str) -> None:
        self.last_ok, self.last_error, self.last_at = not error, error, time.time()
        self.played += 0 if error else 1

    def health(self) -> dict[str, object]:
        """For the staff screen and the agent's status: is there a device, did the last play work."""
        return {"enabled": self.enabled, "device": self.sink.present(), "last_ok": self.last_ok,
                "last_error": self.last_error, "last_at": round(self.last_at) or None, "played": self.played,
                "rate": self.rate, "volume": self.volume}

    def idle(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is waiting to be spoken (tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._wake:
                if self._job is None and (self.last_at or not self.enabled):
                    return True
            time.sleep(0.05)
        return False
