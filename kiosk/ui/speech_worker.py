"""The speech renderer's own process: Hanzi → pinyin (pypinyin) → espeak-ng → WAV.

The screen's process never imports pypinyin: its dictionaries are about 57 MB of Python
objects, and every full garbage collection in the screen's process would walk them, and
converting a sentence holds the interpreter lock the screen needs to draw. Here they cost
neither. One request at a time on stdin, one answer on stdout (``docs/ui.md``, Speech):

    request:  one JSON line {"text", "language", "rate", "volume", "tone"}
    answer:   one JSON line {"ok": bool, "error": str, "size": n}, then n bytes of WAV

Run as ``python -m kiosk.ui.speech_worker`` by ``kiosk.ui.speech.RenderWorker``."""

from __future__ import annotations

import json
import sys
from typing import BinaryIO


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    from kiosk.ui.speech import pinyin_text, render, tone

    pinyin_text("你好")  # loads the dictionaries now, not at the first resident's tap
    for line in requests:
        try:
            job = json.loads(line)
            if job.get("tone"):
                wav = tone(int(job["volume"]))
            else:
                wav = render(str(job["text"]), str(job["language"]), int(job["rate"]), int(job["volume"]))
            head = {"ok": True, "error": "", "size": len(wav)}
        except (OSError, ValueError, KeyError, TypeError) as err:
            wav, head = b"", {"ok": False, "error": str(err) or type(err).__name__, "size": 0}
        answers.write(json.dumps(head).encode() + b"\n" + wav)
        answers.flush()


def main() -> None:
    if "--help" in sys.argv[1:]:
        print(__doc__)
        return
    serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
