"""`learncard …` as a child process, the way an operator runs it: this checkout's code, none
of the caller's LEARNCARD_ variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def learncard(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNCARD_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "learncard", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300, check=False)


def ok(*args: str | Path) -> str:
    """Run it; it must exit 0; its standard output."""
    done = learncard(*args)
    assert 0 == done.returncode, f"learncard {' '.join(map(str, args))}: {done.stderr}"
    return done.stdout
