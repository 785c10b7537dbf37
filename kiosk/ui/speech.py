"""Speaking results aloud, offline, with espeak-ng (Mandarin voice ``cmn``), never blocking
the screen: one sentence at a time, a new one cuts the old one short."""

from __future__ import annotations

import shutil
import subprocess

VOICES = {"zh_CN": "cmn", "en": "en"}


class Speaker:
    def __init__(self, enabled: bool = True) -> None:
        self.program = shutil.which("espeak-ng") if enabled else None
        self._current: subprocess.Popen[bytes] | None = None
        self.spoken: list[str] = []  # what was said, for tests and logs

    def say(self, text: str, language: str) -> None:
        self.spoken.append(text)
        if self.program is None or not text:
            return
        if self._current is not None and self._current.poll() is None:
            self._current.terminate()
        self._current = subprocess.Popen([self.program, "-v", VOICES.get(language, "cmn"), "-s", "140", text],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
