"""A virtual screen (Debian's Xvfb) on a free display number, for tests that open real windows."""

from __future__ import annotations

import os
import select
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def virtual_screen(size: str = "1720x820x24") -> Iterator[str]:
    """Start Xvfb, yield its DISPLAY (":N"), stop it. Fails loudly if Xvfb is not installed."""
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", size, "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        ready, _, _ = select.select([read], [], [], 30)
        number = os.read(read, 32).decode().strip() if ready else ""
        if not number:
            raise RuntimeError("Xvfb did not report a display number within 30 s")
        yield f":{number}"
    finally:
        os.close(read)
        proc.terminate()
        proc.wait(timeout=10)
