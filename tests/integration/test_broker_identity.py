"""Issue 11, deliverable 4: client ids tied to certificates, reserved names refused, kiosk and
county certificates kept apart — against a real Mosquitto with the configuration
`provision broker-config` writes.

Hostile: kiosk k-a's certificate and key are stolen; the thief connects with the gateway's
client id, with k-b's, and tries to publish receipts and retained county documents."""

from __future__ import annotations

import getpass
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography import x509

from gateway.county_files import CountyFiles
from gateway.errors import CountyFileError
from learncard.main import cli
from provisioning.errors import HomeError, RequestError
from provisioning.home import CountyHome
from records import county
from records.errors import MalformedRecord
from tests.integration import test_provision
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import TestClient
from tests.support.ports import free_port

home = test_provision.home  # the county home fixture (`provision init` of county-3301)


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert 0 == result.exit_code, result.output
    return result.output


def enrol(home: Path, out: Path, kiosk: str) -> Path:
    run("provision", "--home", str(home), "enroll", "--generate", "--kiosk", kiosk, "--venue", "v-chengguan",
        "--level", "township-school", "--out", str(out))
    return out


def generated_broker_config(home: Path, folder: Path) -> tuple[int, str]:
    """``provision broker-config`` for a free loopback port into ``folder``: (port, mosquitto.conf)."""
    port = free_port()
    run("provision", "--home", str(home), "broker-config", "--out", str(folder), "--port", str(port),
        "--address", "127.0.0.1", "--user", getpass.getuser())
    return port, (folder / "mosquitto.conf").read_text()


class Watched(TestClient):
    """A test client that counts how often the broker drops it."""

    def __init__(self, port: int, **kwargs: Any) -> None:
        self.drops = 0
        self._dropped = threading.Lock()
        super().__init__(port, **kwargs)
        self.client.on_disconnect = self._on_drop

    def _on_drop(self, *args: Any) -> None:
        with self._dropped:
            self.drops += 1


def test_stolen_kiosk_certificate_cannot_take_over_sessions_or_act_as_the_gateway(home: Path,
                                                                                    tmp_path: Path) -> None:
    a, b = enrol(home, tmp_path / "k-a", "k-a"), enrol(home, tmp_path / "k-b", "k-b")
    port, conf = generated_broker_config(home, tmp_path / "broker")
    assert "use_username_as_clientid true" in conf and "use_identity_as_username true" in conf
    broker = Mosquitto(tmp_path / "broker", port=port).start(tmp_path / "broker" / "mosquitto.conf")
    tls = {"ca": home / "device-ca.pem"}
    clients: list[TestClient] = []
    try:
        gateway = Watched(port, **tls, client_id="gateway", cert=home / "gateway" / "gateway.pem",
                          key=home / "gateway" / "gateway.key")
        kb = Watched(port, **tls, client_id="k-b", cert=b / "kiosk-cert.pem", key=b / "tls.key")
        clients += [gateway, kb]
        assert gateway.wait_connected() and kb.wait_connected()
        gateway.subscribe("lc/v1/+/rec")
        # the thief, with k-a's certificate, asks for the gateway's and k-b's client ids, again and again
        for _ in range(3):
            for stolen_id in ("gateway", "gateway-1", "kiosk-k-b", "k-b"):
                thief = TestClient(port, **tls, client_id=stolen_id, cert=a / "kiosk-cert.pem", key=a / "tls.key")
                clients.append(thief)
                assert thief.wait_connected()
                # its session is k-a's whatever it asked for: it may write only k-a's topics
                assert 135 == thief.publish("lc/v1/k-b/ack", b'{"epoch":1,"upto":40}')
                assert 135 == thief.publish("lc/v1/county/staff", b"forged roster", retain=True)
                assert 135 == thief.publish("lc/v1/county/registry", b"forged", retain=True)
                assert 135 == thief.publish("lc/v1/verified/v-chengguan", b"forged")
                assert 135 == thief.publish("lc/v1/k-b/cmd/resend", b"{}")
                assert thief.publish("lc/v1/k-a/rec", b"x") < 128
        # the gateway and k-b were never knocked off, and still work
        assert 0 == gateway.drops and 0 == kb.drops
        assert gateway.connected.is_set() and kb.connected.is_set()
        assert kb.publish("lc/v1/k-b/rec", b"still here") < 128
        assert gateway.publish("lc/v1/k-b/ack", b"{}") < 128
        seen = set()
        deadline = time.monotonic() + 10
        while "lc/v1/k-b/rec" not in seen and time.monotonic() < deadline:
            try:
                seen.add(gateway.messages.get(timeout=0.5).topic)
            except Exception:  # noqa: BLE001, S110 - queue.Empty: keep polling
                pass
        assert "lc/v1/k-b/rec" in seen
    finally:
        for c in clients:
            c.close()
        broker.kill()


def test_kiosk_and_county_certificates_come_from_different_cas(home: Path, tmp_path: Path) -> None:
    a = enrol(home, tmp_path / "k-a", "k-a")
    kiosk_cert = x509.load_pem_x509_certificate((a / "kiosk-cert.pem").read_bytes())
    gateway_cert = x509.load_pem_x509_certificate((home / "gateway" / "gateway.pem").read_bytes())
    kiosk_ca = x509.load_pem_x509_certificate((home / "kiosk-ca.pem").read_bytes())
    device_ca = x509.load_pem_x509_certificate((home / "device-ca.pem").read_bytes())
    assert kiosk_cert.issuer == kiosk_ca.subject != device_ca.subject == gateway_cert.issuer
    kiosk_cert.verify_directly_issued_by(kiosk_ca)
    with pytest.raises(ValueError):  # cryptography: the issuer does not match
        kiosk_cert.verify_directly_issued_by(device_ca)
    assert 0o600 == (home / "keys" / "kiosk-ca.key").stat().st_mode & 0o777


@pytest.mark.parametrize("name", ["gateway", "gateway-2", "consumer-edu", "county-3301", "broker"])
def test_enrolment_refuses_reserved_names(home: Path, tmp_path: Path, name: str) -> None:
    with pytest.raises(RequestError, match="reserved"):
        run("provision", "--home", str(home), "enroll", "--generate", "--kiosk", name, "--venue", "v-chengguan",
            "--level", "township-school", "--out", str(tmp_path / name))
    assert name not in CountyHome.open(home).load_document("registry").body["kiosks"]
    assert not (tmp_path / name / "kiosk-cert.pem").exists()
    with pytest.raises(RequestError, match="reserved"):
        run("kiosk", "enroll-request", "--kiosk", name, "--out", str(tmp_path / f"req-{name}"))


def test_a_registry_naming_a_kiosk_gateway_is_refused_when_loaded(home: Path, tmp_path: Path) -> None:
    """An old home where `enroll --kiosk gateway` was accepted: the registry is refused by the
    gateway (the one in force stays) until that kiosk is revoked."""
    h = CountyHome.open(home)
    body = dict(h.load_document("registry").body)
    body["kiosks"] = {"gateway": {"venue": "v-x", "level": "library", "status": "active", "keys": {}}}
    doc = county.sign_document("registry", "county-3301", 7, body, h.issuer_key(), datetime.now(UTC))
    with pytest.raises(MalformedRecord, match="reserved"):
        county.Registry(doc)
    path = tmp_path / "registry.jws"
    path.write_text(doc.token)
    files = CountyFiles("county-3301", h.issuer_key().public_key(), {"registry": path})
    with pytest.raises(CountyFileError, match="reserved"):
        files.load(first=True)
    body["kiosks"]["gateway"]["status"] = "revoked"
    revoked = county.sign_document("registry", "county-3301", 8, body, h.issuer_key(), datetime.now(UTC))
    assert "gateway" in county.Registry(revoked).kiosks  # revoked: loads, and has no rights
    from provisioning.broker import acl_text

    body["kiosks"]["gateway"]["status"] = "active"
    acl = acl_text(body)
    assert 1 == acl.count("user gateway\n")  # the county's own entry only: the kiosk gets none
    assert "# gateway: a reserved name" in acl


def test_a_home_made_before_the_kiosk_ca_migrates_with_broker_config(home: Path, tmp_path: Path) -> None:
    (home / "kiosk-ca.pem").unlink()
    (home / "keys" / "kiosk-ca.key").unlink()
    with pytest.raises(HomeError, match="broker-config"):
        enrol(home, tmp_path / "k-a", "k-a")
    assert "k-a" not in CountyHome.open(home).load_document("registry").body["kiosks"]
    run("provision", "--home", str(home), "broker-config", "--out", str(tmp_path / "broker"), "--port", "18883",
        "--address", "127.0.0.1", "--user", getpass.getuser())
    assert (home / "kiosk-ca.pem").exists()
    cas = (tmp_path / "broker" / "client-cas.pem").read_text()
    assert (home / "device-ca.pem").read_text() in cas and (home / "kiosk-ca.pem").read_text() in cas
    enrol(home, tmp_path / "k-a", "k-a")
