"""Drives the real touchscreen against a real agent that has things wrong with it, offscreen:
a signing key other than the enrolled one (taps refused), an uplink that cannot connect, a
TLS certificate ending in 20 days, and the gateway holding this kiosk's records. Writes what
the idle and staff screens said (and, if asked, screenshots) to a JSON file.

Run as its own process (Kivy's window is global):
    SDL_VIDEODRIVER=offscreen KIVY_NO_ARGS=1 KIVY_HOME=<tmp> python -m tests.support.ui_troubles_driver OUT.json LANG [SHOTS]
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kivy.config import Config

Config.set("graphics", "width", "1280")
Config.set("graphics", "height", "800")

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from kiosk.reader.base import CardRead  # noqa: E402
from kiosk.signer import write_key  # noqa: E402
from kiosk.ui.app import KioskUi  # noqa: E402
from records import keys  # noqa: E402
from tests.support.county import TestCounty  # noqa: E402
from tests.support.kiosk import STAFF_PIN  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.ui_run import driver_start, staff_cards_on_roster, step_through  # noqa: E402


def texts(screen: Any) -> dict[str, str]:
    """The screen's own text properties and its named widgets' texts."""
    own = {name: value for name in screen.properties() if isinstance(value := getattr(screen, name), str)}
    return own | {name: w.text for name, w in screen.ids.items() if hasattr(w, "text") and isinstance(w.text, str)}


def short_lived_certificate(folder: Path, days: int) -> tuple[Path, Path]:
    """A self-signed kiosk certificate ending in ``days`` days, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "k-test-1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=days))
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "kiosk.crt", folder / "kiosk-tls.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def scenario(app: KioskUi, county: TestCounty, agent: Any, seen: dict[str, Any], shots: Path | None,
             language: str) -> Generator[float, None, None]:
    def look(name: str) -> None:
        screen = app.root.current_screen
        seen[name] = {"screen": screen.name, **texts(screen)}
        if shots is not None:
            app.root.export_to_png(str(shots / f"troubles-{language}-{name}.png"))

    deadline = time.monotonic() + 30  # the uplink finds out why it cannot connect
    while agent.uplink_problem is None and time.monotonic() < deadline:
        yield 0.2
    # what the uplink sets when the gateway answers unknown-kiosk (kiosk/uplink.py _hold)
    agent.set_uplink_alarm("gateway-hold", {"error": "unknown-kiosk", "retry_seconds": 60})
    yield 1.0
    look("idle")

    def tap(cred: Any) -> Generator[float, None, None]:
        goal = app.results_seen + 1
        threading.Thread(target=agent.on_read, args=(CardRead("qr", "test", text=county.qr(cred)),)).start()
        end = time.monotonic() + 20
        while app.results_seen < goal and time.monotonic() < end:
            yield 0.1
        yield 0.5

    yield from tap(county.credential())
    seen["tap"] = dict(app.last_result or {})
    look("refused")
    yield from tap(county.credential(staff=True))
    seen["staff_card"] = dict(app.last_result or {})
    if app.root.current == "pin":
        app.root.get_screen("pin").submit(STAFF_PIN)  # what the PIN pad's 确定 sends
        end = time.monotonic() + 20
        while app.root.current == "pin" and time.monotonic() < end:
            yield 0.2
        yield 0.5
    look("staff")
    seen["staff"]["panel"] = app.staff_extras.health  # the health panel at the top of staff mode
    if app.root.current == "staff":
        staff = app.root.get_screen("staff")
        staff.output = ""
        staff.show_figures()
        end = time.monotonic() + 20
        while not staff.output and time.monotonic() < end:  # the agent's answer
            yield 0.2
        yield 0.5
        look("figures")
    seen["status"] = agent.snapshot()["health"]


def main() -> None:
    out, language, shots, county, kiosk = driver_start()
    kiosk.set("ui", "language", language)
    kiosk.set("kiosk", "signing_public_key", keys.public_key_text(county.kiosk_key("k-test-1")))
    (kiosk.folder / "kiosk.key").unlink()
    write_key(kiosk.folder / "kiosk.key", keys.private_key_from_seed(os.urandom(32)))  # not the enrolled one
    cert_file, key_file = short_lived_certificate(kiosk.folder, 20)
    for key, value in {"host": "127.0.0.1", "port": free_port(), "tls": True, "ca_file": str(cert_file),
                       "cert_file": str(cert_file), "key_file": str(key_file)}.items():  # nothing listens there
        kiosk.set("uplink", key, value)
    seen: dict[str, Any] = {}
    with kiosk.running() as running:
        app = KioskUi(kiosk.socket, language=language, speech=False)
        staff_cards_on_roster(county, kiosk, running.agent, version=3)
        steps = scenario(app, county, running.agent, seen, shots, language)
        step_through(app, steps, seen)
        app.run()
    out.write_text(json.dumps(seen, ensure_ascii=False, indent=1, default=str))


if __name__ == "__main__":
    main()
