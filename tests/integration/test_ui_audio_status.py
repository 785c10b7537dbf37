"""The touchscreen's sound health reaches `learncard kiosk status` through the agent: espeak-ng
alone exits 0 without a device, so the screen reports what its sound sink found."""

from __future__ import annotations

import tempfile
from pathlib import Path

from click.testing import CliRunner

from learncard.main import cli
from tests.support.county import TestCounty
from tests.support.kiosk import KioskSetup


def status(kiosk: KioskSetup, *extra: str) -> str:
    result = CliRunner().invoke(cli, ["kiosk", "--config", str(kiosk.config_file), "status", *extra])
    assert 0 == result.exit_code, result.output
    return result.output


def test_sound_health_in_status() -> None:
    kiosk = KioskSetup(TestCounty(), Path(tempfile.mkdtemp(prefix="lc-audio-")) / "kiosk")
    with kiosk.running():
        assert "sound: no report from the touchscreen" in status(kiosk)
        with kiosk.client() as c:
            c.call("ui.audio", enabled=True, device=False, last_ok=False, last_error="no sound device",
                   last_at=1, played=0, volume=120, rate=140, ignored="x")
            audio = c.call("state")["health"]["audio"]
        assert (False, "no sound device") == (audio["device"], audio["last_error"])
        assert "ignored" not in audio
        out = status(kiosk)
        assert "sound: device MISSING, last playback FAILED: no sound device" in out
        with kiosk.client() as c:
            c.call("ui.audio", enabled=True, device=True, last_ok=True, last_error="", last_at=2, played=3,
                   volume=140, rate=120)
        assert "sound: device present, last playback OK, volume 140, rate 120" in status(kiosk)
