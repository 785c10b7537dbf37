"""The county's home folder on the IT laptop: its keys, CA, registry and the files the
gateway and the broker read.

    county.toml                 county id and home page IRI (kind = learncard-county-home)
    keys/issuer.key             Ed25519: cards, registry, revocation list, staff roster (0600)
    keys/device-ca.key          ECDSA P-256: the device CA (broker, gateway, consumers) (0600)
    device-ca.pem               its certificate (public)
    keys/kiosk-ca.key           ECDSA P-256: the kiosk CA (kiosk client certificates only) (0600)
    kiosk-ca.pem                its certificate (public)
    broker/                     server key and certificate, mosquitto.conf, acl
    gateway/                    the gateway's key, certificate and gateway.toml
    registry.jws                the kiosk registry, signed
    revoked-cards.jws, staff.jws  the revocation list and staff roster, signed
    programme.jws, credit-rules.jws  the programme (课程表) and credit rules (学时规则), signed,
                                written by `provision programme import` and `provision rules set`
    <kind>.pages/               the registry, revocation list, staff roster and programme in
                                signed pages under the broker's message limit, and their index
                                (records/county_pages.py), written with the whole document
    kiosks/<id>/                each kiosk's configuration bundle
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provisioning import ca
from provisioning.errors import HomeError
from provisioning.files import write_atomic, write_secret
from records import county, county_pages, keys, page_files
from records.errors import RecordError
from records.ids import is_valid_name

KIND = "learncard-county-home"


def _toml_text(values: dict[str, str]) -> str:
    return "".join(f'{k} = "{v}"\n' for k, v in values.items())


@dataclass(frozen=True)
class CountyHome:
    path: Path
    county_id: str
    home_page: str

    # --- making and opening ------------------------------------------------------------

    @classmethod
    def init(cls, path: Path, county_id: str, home_page: str, broker_names: list[str]) -> CountyHome:
        """A new home; refuses to touch an existing, non-empty folder."""
        if not is_valid_name(county_id):
            raise HomeError(f"county id {county_id!r} must match [a-z0-9-]{{3,40}}")
        if not home_page.startswith(("https://", "http://")):
            raise HomeError(f"home page {home_page!r} must be an http(s) IRI")
        if path.exists() and any(path.iterdir()):
            raise HomeError(f"{path} exists and is not empty: a county home is never overwritten")
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)
        home = cls(path, county_id, home_page)
        write_atomic(path / "county.toml", _toml_text(
            {"kind": KIND, "county": county_id, "home_page": home_page,
             "created": datetime.now(UTC).isoformat(timespec="seconds")}))
        issuer = keys.private_key_from_seed(os.urandom(32))
        write_secret(path / "keys" / "issuer.key", keys.private_key_to_pem(issuer))
        write_atomic(path / "keys" / "issuer.pub", keys.public_key_text(issuer) + "\n")
        ca_key = ca.new_key()
        write_secret(path / "keys" / "device-ca.key", ca.key_pem(ca_key))
        ca_cert = ca.make_ca(county_id, ca_key)
        write_atomic(path / "device-ca.pem", ca.cert_pem(ca_cert))
        home.make_kiosk_ca()
        for name, names in (("broker/server", broker_names), ("gateway/gateway", None)):
            key = ca.new_key()
            write_secret(path / f"{name}.key", ca.key_pem(key))
            cn = "broker" if names else "gateway"
            write_atomic(path / f"{name}.pem",
                         ca.cert_pem(ca.sign_leaf(ca_cert, ca_key, cn, key.public_key(), server_names=names)))
        now = datetime.now(UTC)
        empty = {"registry": {"home_page": home_page, "venues": {}, "kiosks": {}},
                 "revoked-cards": {"cards": []}, "staff": {"staff": []}}
        for kind, body in empty.items():
            doc = county.sign_document(kind, county_id, 1, body, issuer, now)
            home.write_pages(doc, issuer, None)
            write_atomic(path / f"{kind}.jws", doc.token + "\n")
        return home

    @classmethod
    def open(cls, path: Path, expect_county: str | None = None) -> CountyHome:
        marker = path / "county.toml"
        if not path.is_dir():
            raise HomeError(f"no county home at {path}: run `learncard provision init` first")
        try:
            data: dict[str, Any] = tomllib.loads(marker.read_text())
        except FileNotFoundError as err:
            raise HomeError(f"{path} is not a county home (no county.toml)") from err
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise HomeError(f"{marker} cannot be read: {err}") from err
        if data.get("kind") != KIND:
            raise HomeError(f"{path} is not a LearnCard county home (kind {data.get('kind')!r})")
        if expect_county is not None and data.get("county") != expect_county:
            raise HomeError(f"{path} is the home of county {data.get('county')!r}, not {expect_county!r}")
        return cls(path, str(data["county"]), str(data["home_page"]))

    # --- keys ---------------------------------------------------------------------------------

    def path_of(self, name: str) -> Path:
        return self.path / name

    def issuer_key(self) -> Ed25519PrivateKey:
        try:
            return keys.private_key_from_pem((self.path / "keys" / "issuer.key").read_bytes())
        except (OSError, RecordError) as err:
            raise HomeError(f"the county issuer key cannot be read: {err}") from err

    @property
    def issuer_public_text(self) -> str:
        return (self.path / "keys" / "issuer.pub").read_text().strip()

    def ca(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        try:
            cert = x509.load_pem_x509_certificate((self.path / "device-ca.pem").read_bytes())
            key = ca.load_key((self.path / "keys" / "device-ca.key").read_bytes())
        except (OSError, ValueError) as err:
            raise HomeError(f"the device CA cannot be read: {err}") from err
        return cert, key

    def kiosk_ca(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """The kiosk CA; a home made before it existed is told how to get one."""
        if not (self.path / "kiosk-ca.pem").exists():
            raise HomeError("this county home has no kiosk CA yet (made before kiosk and county "
                            "certificates were separated): run `learncard provision broker-config` "
                            "once, restart the broker, then enrol (see docs/provisioning.md)")
        try:
            cert = x509.load_pem_x509_certificate((self.path / "kiosk-ca.pem").read_bytes())
            key = ca.load_key((self.path / "keys" / "kiosk-ca.key").read_bytes())
        except (OSError, ValueError) as err:
            raise HomeError(f"the kiosk CA cannot be read: {err}") from err
        return cert, key

    def make_kiosk_ca(self) -> bool:
        """Make the kiosk CA if this home has none (new homes, and the migration of old ones)."""
        if (self.path / "kiosk-ca.pem").exists():
            return False
        key = ca.new_key()
        write_secret(self.path / "keys" / "kiosk-ca.key", ca.key_pem(key))
        write_atomic(self.path / "kiosk-ca.pem", ca.cert_pem(ca.make_ca(self.county_id, key, "kiosk")))
        return True

    def gateway_values(self, broker_host: str, broker_port: int) -> dict[str, dict[str, Any]]:
        """The gateway's configuration, relative to ``gateway/`` (written as gateway.toml)."""
        return {
            "gateway": {"county": self.county_id, "issuer_public_key": self.issuer_public_text,
                        "registry": "../registry.jws", "revoked_cards": "../revoked-cards.jws",
                        "staff": "../staff.jws", "programme": "../programme.jws",
                        "credit_rules": "../credit-rules.jws", "client_id": "gateway",
                        "corrections_key": "county-corrections.key", "statements_key": "county-statements.key"},
            "broker": {"host": broker_host, "port": broker_port, "tls": True, "ca_file": "../device-ca.pem",
                       "cert_file": "gateway.pem", "key_file": "gateway.key"},
            "store": {"url": f"sqlite:///{(self.path / 'gateway' / 'gateway.sqlite3').resolve()}"},
            "lrs": {"home_page": self.home_page},
        }

    # --- signed documents -----------------------------------------------------------------------

    def load_document(self, kind: str) -> county.Document:
        from provisioning.errors import RegistryError

        path = self.path / f"{kind}.jws"
        try:
            token = path.read_text().strip()
        except OSError as err:
            raise RegistryError(f"{path} cannot be read: {err}") from err
        try:
            return county.verify_document(token, self.issuer_key().public_key(), kind, self.county_id)
        except RecordError as err:
            raise RegistryError(f"{path} does not verify with this county's issuer key: {err}") from err

    def load_document_or_none(self, kind: str) -> county.Document | None:
        """The document, or None when it was never written (homes made before it existed)."""
        if not (self.path / f"{kind}.jws").exists():
            return None
        return self.load_document(kind)

    def save_document(self, kind: str, body: dict[str, Any]) -> county.Document:
        """Sign ``body`` as the next version of ``kind`` and write it."""
        previous = self.load_document_or_none(kind)
        version = 1 if previous is None else previous.version + 1
        pages = self.load_pages(kind) if kind in county_pages.PAGED else None
        if pages is not None:  # pages written by a save that stopped before its whole file
            version = max(version, pages.index.version + 1)
        key = self.issuer_key()
        doc = county.sign_document(kind, self.county_id, version, body, key, datetime.now(UTC))
        if kind in county_pages.PAGED:  # pages first: the gateway reloads when the whole file changes
            self.write_pages(doc, key, pages)
        write_atomic(self.path / f"{kind}.jws", doc.token + "\n")
        return doc

    # --- the paged documents' pages ---------------------------------------------------------------

    def pages_folder(self, kind: str) -> Path:
        return page_files.folder_of(self.path / f"{kind}.jws")

    def load_pages(self, kind: str) -> county_pages.Paged | None:
        """The pages on disk, verified; None when there are none (a home made before pages, or
        one whose pages do not verify: they are then written afresh)."""
        index_token, tokens = page_files.read(self.pages_folder(kind))
        if index_token is None:
            return None
        issuer = self.issuer_key().public_key()
        try:
            index = county_pages.verify_index(index_token, issuer, kind, self.county_id)
            pages = {k: county_pages.verify_page(t, issuer, kind, self.county_id, k) for k, t in tokens.items()}
        except RecordError:
            return None
        if county_pages.missing(index, {k: p.version for k, p in pages.items()}):
            return None
        return county_pages.Paged(index, {k: pages[k] for k in county_pages.page_versions(index)})

    def write_pages(self, doc: county.Document, key: Ed25519PrivateKey,
                    previous: county_pages.Paged | None) -> county_pages.Paged:
        """Split ``doc`` into pages (unchanged pages keep their version) and write them."""
        try:
            paged = county_pages.paginate(doc, key, datetime.now(UTC), previous)
        except county_pages.PageTooLarge as err:
            from provisioning.errors import RegistryError

            raise RegistryError(f"{err}: nothing was written") from err
        page_files.write(self.pages_folder(doc.kind), paged.index.token,
                         {k: (p.version, p.token) for k, p in paged.pages.items()}, paged.index.version)
        return paged

    def page_documents(self) -> list[str]:
        """Write the pages of every paged document that has none, or whose pages are not of its
        version (a home made before pages); the documents' versions do not change. Returns the
        kinds written."""
        written = []
        for kind in county_pages.PAGED:
            doc = self.load_document_or_none(kind)
            if doc is None:
                continue
            previous = self.load_pages(kind)
            if previous is not None and previous.index.version >= doc.version:
                continue  # (newer pages: the next save writes the whole document above them)
            self.write_pages(doc, self.issuer_key(), previous)
            written.append(kind)
        return written
