"""A kiosk for tests: configuration file, device key, county documents, and a running agent
(in this process, on its own threads, with a real journal file and control socket)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.control import ControlClient
from kiosk.signer import write_key
from learncard import config, kiosk_app
from learncard.config import to_toml
from learncard.settings import SCHEMA
from records import card
from records import county as county_docs
from tests.support.county import TestCounty

STAFF_PIN = "4821"


@dataclass
class KioskSetup:
    county: TestCounty
    folder: Path
    kiosk_id: str = "k-test-1"
    venue: str = "v-test"

    @property
    def config_file(self) -> Path:
        return self.folder / "kiosk.toml"

    @property
    def socket(self) -> Path:
        return Path(self.values["control"]["socket"])

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # Unix socket paths are short (108 bytes): keep the socket in a short temp folder
        sock_dir = Path(tempfile.mkdtemp(prefix="lc-"))
        self.values: dict[str, dict[str, Any]] = {
            "kiosk": {"id": self.kiosk_id, "venue": self.venue, "venue_name": "城关镇社区学校",
                      "key_path": str(self.folder / "kiosk.key"), "state_dir": str(self.folder / "state")},
            "county": {"id": self.county.county_id, "issuer_public_key": self.county.issuer_public},
            "control": {"socket": str(sock_dir / "agent.sock")},
            "uplink": {"host": ""},
        }
        write_key(self.folder / "kiosk.key", self.county.kiosk_key(self.kiosk_id))
        self.write()

    def write(self) -> None:
        self.config_file.write_text(to_toml(self.values))

    def set(self, section: str, key: str, value: Any) -> None:
        self.values.setdefault(section, {})[key] = value
        self.write()

    def load(self) -> config.Config:
        return config.load(SCHEMA, config_file=self.config_file, env={}, require=("kiosk", "county"))

    def put_document(self, doc: county_docs.Document) -> None:
        state = self.folder / "state"
        state.mkdir(parents=True, exist_ok=True)
        name = f"{doc.kind}.jws"
        (state / name).write_text(doc.token)

    def staff_roster(self, staff_cards: dict[str, card.Credential], version: int = 1) -> county_docs.Document:
        """staff id -> staff card; every PIN is STAFF_PIN, hashed with the card's secret
        (scrypt with a small n for speed)."""
        entries = [{"staff_id": sid, "card": cred.card_id, "role": "staff", "venues": [self.venue],
                    "pin_hash": county_docs.hash_pin(STAFF_PIN, cred.staff_secret or b"", os.urandom(16), n=2**10)}
                   for sid, cred in staff_cards.items()]
        return self.county.staff_roster(entries, version=version)

    @contextmanager
    def running(self) -> Iterator[kiosk_app.KioskApp]:
        app = kiosk_app.build(self.load())
        app.start()
        try:
            yield app
        finally:
            app.close()

    def client(self) -> ControlClient:
        return ControlClient(self.socket, timeout=10)


def register(c, county: Any, cred, action: str = "register", course_id: str = "calligraphy",
             scope: str = "term") -> dict:
    """报名 then the card; a first registration answers the privacy notice with yes."""
    c.call("register.arm", course_id=course_id, scope=scope, action=action)
    answer = c.call("tap", text=county.qr(cred))
    if answer["outcome"] == "consent-needed":
        return c.call("register.consent", consent=True)
    return answer
