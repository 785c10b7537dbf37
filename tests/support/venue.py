"""A venue on this machine for end-to-end tests: a Mosquitto, a gateway process, kiosks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from gateway.store import Store
from learncard.config import to_toml
from records import county as county_docs
from records import county_pages, keys, page_files
from tests.support.county import TestCounty
from tests.support.kiosk import KioskSetup
from tests.support.mosquitto import Mosquitto

ROOT = Path(__file__).resolve().parents[2]


def wait_until(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@dataclass
class GatewayProcess:
    """`learncard gateway run` as its own process, against a plain loopback broker."""

    county: TestCounty
    folder: Path
    broker: Mosquitto
    kiosks: dict[str, str] = field(default_factory=lambda: {"k-test-1": "v-test"})
    lrs_endpoint: str = ""
    metrics_port: int = 0
    store_url: str = ""  # empty: a SQLite store in the folder
    client_id: str = "gateway-1"
    settings: dict[str, object] = field(default_factory=dict)  # more [gateway] keys
    broker_settings: dict[str, object] = field(default_factory=dict)  # more [broker] keys (TLS)
    signers: dict[str, str] = field(default_factory=dict)  # county signer id → purpose (key: county.kiosk_key)
    proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.write_documents()
        self.config = self.folder / "gateway.toml"
        self.store_url = self.store_url or f"sqlite:///{self.folder / 'gateway.sqlite3'}"
        self.config.write_text(to_toml({
            "gateway": {"county": self.county.county_id, "issuer_public_key": self.county.issuer_public,
                        "registry": str(self.folder / "registry.jws"),
                        "revoked_cards": str(self.folder / "revoked-cards.jws"),
                        "staff": str(self.folder / "staff.jws"), "metrics_port": self.metrics_port,
                        "programme": str(self.folder / "programme.jws"),
                        "credit_rules": str(self.folder / "credit-rules.jws"),
                        "client_id": self.client_id, "lock_file": str(self.folder / "gateway.lock"),
                        "corrections_key": str(self.folder / "county-corrections.key"), "pair_every_seconds": 2,
                        **self.settings},
            "broker": {"host": "127.0.0.1", "port": self.broker.port, **self.broker_settings},
            "store": {"url": self.store_url},
            "lrs": {"enabled": bool(self.lrs_endpoint), "endpoint": self.lrs_endpoint, "username": "gateway",
                    "password": "secret", "home_page": self.county.home_page},
        }))

    def write_documents(self, version: int = 1, revoked: tuple[str, ...] = (),
                        revoked_cards: list[str] | None = None) -> None:
        (self.folder / "registry.jws").write_text(
            self.county.registry(self.kiosks, version, revoked, self.signers).token)
        for signer in self.signers:
            key = self.folder / f"{signer}.key"
            if not key.exists():
                key.write_bytes(keys.private_key_to_pem(self.county.kiosk_key(signer)))
        (self.folder / "revoked-cards.jws").write_text(self.county.revocations(revoked_cards or [], version).token)
        (self.folder / "staff.jws").write_text(self.county.staff_roster([], version).token)

    def put_document(self, doc: county_docs.Document) -> None:
        """Write a county document where the gateway reads it (reload() to publish it)."""
        (self.folder / f"{doc.kind}.jws").write_text(doc.token)

    def put_paged(self, doc: county_docs.Document, previous: county_pages.Paged | None = None) -> county_pages.Paged:
        """Write a paged county document where the gateway reads it: its pages and index
        (``<kind>.pages/``, as provisioning writes them), then the whole file."""
        paged = county_pages.paginate(doc, self.county.issuer, datetime.now(UTC), previous)
        page_files.write(page_files.folder_of(self.folder / f"{doc.kind}.jws"), paged.index.token,
                         {k: (p.version, p.token) for k, p in paged.pages.items()}, paged.index.version,
                         sync=False)  # a test folder: no power cut to survive
        self.put_document(doc)
        return paged

    def start(self) -> GatewayProcess:
        log = open(self.folder / "gateway.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "learncard", "-v", "gateway", "--config", str(self.config), "run"],
            cwd=ROOT, stdout=log, stderr=log, start_new_session=True)
        log.close()
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)

    def reload(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)

    def store(self) -> Store:
        return Store.open(self.store_url)

    def count(self) -> int:
        path = self.folder / "gateway.sqlite3"
        if not path.exists():
            return 0
        store = self.store()
        try:
            return store.count()
        finally:
            store.close()


def kiosk_online(county: TestCounty, folder: Path, broker: Mosquitto, kiosk: str = "k-test-1") -> KioskSetup:
    setup = KioskSetup(county, folder, kiosk_id=kiosk)
    setup.values["uplink"] = {"host": "127.0.0.1", "port": broker.port, "resend_after_seconds": 3}
    setup.set("rules", "debounce_seconds", 0)
    return setup
