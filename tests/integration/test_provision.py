"""Provisioning I end to end: init → enrol by request → broker config → a real Mosquitto with
mutual TLS and the ACL → revoke; and every bad input the issue names."""

from __future__ import annotations

import getpass
import json
import signal
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from kiosk.signer import load_key
from learncard.main import cli
from provisioning.errors import HomeError, RegistryError, RequestError
from provisioning.home import CountyHome
from records import county, record
from records.errors import BadSignature, VerificationError
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import TestClient
from tests.support.ports import free_port


def run(*args: str) -> dict:
    result = CliRunner().invoke(cli, [*args, "--json"])
    if result.exception is not None:
        raise result.exception
    assert 0 == result.exit_code, result.output
    return json.loads(result.output[result.output.index("{"):] if "{" in result.output else result.output)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "county"
    run("provision", "--home", str(path), "init", "--county", "county-3301", "--home-page",
        "https://learn.county-3301.example")
    return path


def kiosk_request(folder: Path, kiosk: str) -> Path:
    result = CliRunner().invoke(cli, ["kiosk", "enroll-request", "--kiosk", kiosk, "--out", str(folder)])
    assert 0 == result.exit_code, result.output
    assert (folder / "enroll-request.png").read_bytes().startswith(b"\x89PNG")
    return folder / "enroll-request.jws"


def enrol(home: Path, folder: Path, kiosk: str, venue: str = "v-chengguan") -> dict:
    request = kiosk_request(folder, kiosk)
    return run("provision", "--home", str(home), "enroll", "--request", str(request), "--venue", venue,
               "--level", "township-school", "--venue-name", "城关镇社区学校", "--out", str(folder))


def signed_record(kiosk_dir: Path, kiosk: str, key_version: int = 1, when: datetime | None = None) -> str:
    key = load_key(kiosk_dir / "kiosk.key")
    event = record.build(origin=record.Origin(kiosk, "v-chengguan", key_version, "boot"),
                         record_type="kiosk.checkpoint", data={"pending": 0, "journal_bytes": 0},
                         record_id=uuid.uuid4(), time=when or datetime.now(UTC), mono_ns=1, clock="unset",
                         epoch=1, seq=1, prev="")
    return record.sign(event, key, f"{kiosk}/{key_version}").token


class TestInitAndEnrol:
    def test_init_makes_keys_private_and_documents_signed(self, home: Path) -> None:
        for key in ("keys/issuer.key", "keys/device-ca.key", "broker/server.key", "gateway/gateway.key"):
            assert 0o600 == (home / key).stat().st_mode & 0o777, key
        h = CountyHome.open(home)
        for kind in ("registry", "revoked-cards", "staff"):
            assert 1 == h.load_document(kind).version
        assert (home / "gateway" / "gateway.toml").exists()

    def test_init_refuses_to_overwrite(self, home: Path) -> None:
        with pytest.raises(HomeError, match="never overwritten"):
            run("provision", "--home", str(home), "init", "--county", "county-3301", "--home-page", "https://x.example")

    def test_enrolled_kiosk_records_verify_against_the_registry(self, home: Path, tmp_path: Path) -> None:
        kiosk_dir = tmp_path / "kiosk"
        result = enrol(home, kiosk_dir, "k-chengguan-1")
        assert 2 == result["registry_version"]
        bundle = (kiosk_dir / "kiosk.toml").read_text()
        assert 'id = "k-chengguan-1"' in bundle and "PRIVATE" not in bundle
        registry = county.Registry(CountyHome.open(home).load_document("registry"))
        rec = record.verify(signed_record(kiosk_dir, "k-chengguan-1"), registry.key_for)
        assert "k-chengguan-1" == rec.kiosk
        listed = run("provision", "--home", str(home), "kiosks", "show", "k-chengguan-1")
        assert ("active", "城关镇社区学校") == (listed["status"], listed["venue_name"])

    def test_the_bundle_is_the_agents_configuration(self, home: Path, tmp_path: Path) -> None:
        kiosk_dir = tmp_path / "kiosk"
        enrol(home, kiosk_dir, "k-chengguan-1")
        result = CliRunner().invoke(cli, ["kiosk", "--config", str(kiosk_dir / "kiosk.toml"), "config", "show",
                                          "--json"])
        assert 0 == result.exit_code, result.output
        shown = json.loads(result.output)
        assert str(kiosk_dir / "kiosk.key") == shown["kiosk"]["key_path"]
        assert shown["uplink"]["tls"]
        # the bundle names the registered signing key, and the kiosk's own key is that key
        from kiosk.identity import check_signing_key
        from kiosk.signer import load_key

        registered = county.Registry(CountyHome.open(home).load_document("registry")).kiosks["k-chengguan-1"]
        assert registered["keys"]["1"] == shown["kiosk"]["signing_public_key"]
        check_signing_key(load_key(kiosk_dir / "kiosk.key"), shown["kiosk"]["signing_public_key"])

    def test_rekey_keeps_old_records_valid(self, home: Path, tmp_path: Path) -> None:
        enrol(home, tmp_path / "kiosk", "k-one")
        old = signed_record(tmp_path / "kiosk", "k-one")
        new_dir = tmp_path / "rekey"
        request = kiosk_request(new_dir, "k-one")
        result = run("provision", "--home", str(home), "rekey", "--request", str(request))
        assert 2 == result["key_version"]
        registry = county.Registry(CountyHome.open(home).load_document("registry"))
        assert "k-one" == record.verify(old, registry.key_for).kiosk
        assert "k-one" == record.verify(signed_record(new_dir, "k-one", 2), registry.key_for).kiosk


class TestBadInput:
    def test_tampered_request(self, home: Path, tmp_path: Path) -> None:
        request = kiosk_request(tmp_path / "kiosk", "k-one")
        head, payload, sig = request.read_text().strip().split(".")
        from records.encoding import b64url, b64url_decode

        changed = b64url(b64url_decode(payload).replace(b"k-one", b"k-two"))
        request.write_text(f"{head}.{changed}.{sig}")
        with pytest.raises(RequestError, match="signature does not verify|header does not match"):
            run("provision", "--home", str(home), "enroll", "--request", str(request), "--venue", "v-one",
                "--level", "library")

    def test_duplicate_kiosk_id(self, home: Path, tmp_path: Path) -> None:
        enrol(home, tmp_path / "a", "k-one")
        with pytest.raises(RegistryError, match="enrolled already"):
            enrol(home, tmp_path / "b", "k-one")

    @pytest.mark.parametrize("bad", ["k+1", "k#1", "k/1", "K-UPPER", "kk"])
    def test_kiosk_id_that_is_not_a_topic_level(self, tmp_path: Path, bad: str) -> None:
        result = CliRunner().invoke(cli, ["kiosk", "enroll-request", "--kiosk", bad, "--out", str(tmp_path)])
        assert isinstance(result.exception, RequestError)
        assert "topic level" in str(result.exception)

    def test_missing_county_home(self, tmp_path: Path) -> None:
        with pytest.raises(HomeError, match="no county home"):
            run("provision", "--home", str(tmp_path / "nothing"), "kiosks", "list")

    def test_foreign_county_home(self, tmp_path: Path) -> None:
        (tmp_path / "other").mkdir()
        (tmp_path / "other" / "county.toml").write_text('kind = "something-else"\n')
        with pytest.raises(HomeError, match="not a LearnCard county home"):
            run("provision", "--home", str(tmp_path / "other"), "kiosks", "list")

    def test_registry_whose_signature_does_not_verify(self, home: Path, tmp_path: Path) -> None:
        enrol(home, tmp_path / "kiosk", "k-one")
        head, payload, sig = (home / "registry.jws").read_text().strip().split(".")
        (home / "registry.jws").write_text(f"{head}.{payload}.{sig[:-4]}AAAA")
        with pytest.raises(RegistryError, match="does not verify"):
            run("provision", "--home", str(home), "kiosks", "list")
        doc_token = f"{head}.{payload}.{sig[:-4]}AAAA"
        with pytest.raises((BadSignature, VerificationError)):
            county.verify_document(doc_token, CountyHome.open(home).issuer_key().public_key(), "registry",
                                   "county-3301")


def test_broker_with_tls_and_acl(home: Path, tmp_path: Path) -> None:
    """A kiosk connects with its certificate, may publish on its own rec topic only, and
    after a revoke (ACL rewritten, SIGHUP) may publish nothing, even on the same connection."""
    kiosk_dir, other_dir = tmp_path / "kiosk", tmp_path / "other"
    enrol(home, kiosk_dir, "k-one")
    enrol(home, other_dir, "k-two")
    port = free_port()
    paths = run("provision", "--home", str(home), "broker-config", "--out", str(tmp_path / "broker"),
                "--port", str(port), "--address", "127.0.0.1", "--user", getpass.getuser())
    conf_text = Path(paths["config"]).read_text()
    assert "max_queued_messages 0" in conf_text and "require_certificate true" in conf_text
    broker = Mosquitto(tmp_path / "broker", port=port).start(Path(paths["config"]))
    try:
        tls = {"ca": home / "device-ca.pem"}
        anonymous = TestClient(port, **tls)
        assert not anonymous.wait_connected(2), "a client without a certificate must be refused"
        anonymous.close()
        k1 = TestClient(port, **tls, cert=kiosk_dir / "kiosk-cert.pem", key=kiosk_dir / "tls.key")
        assert k1.wait_connected()
        assert k1.publish("lc/v1/k-one/rec", signed_record(kiosk_dir, "k-one")) < 128  # 0 or 16: accepted
        assert 135 == k1.publish("lc/v1/k-two/rec", b"not mine")
        assert 135 == k1.publish("lc/v1/county/revoked-cards", b"not mine", retain=True)
        run("provision", "--home", str(home), "revoke", "k-one", "--reason", "stolen")
        assert "user k-one" not in (tmp_path / "broker" / "acl").read_text()
        # the broker re-reads the ACL on SIGHUP; the open connection loses its rights
        broker.proc.send_signal(signal.SIGHUP)
        import time

        deadline = time.monotonic() + 10
        while k1.publish("lc/v1/k-one/rec", b"after revoke") != 135:
            assert time.monotonic() < deadline, "the revoked kiosk can still publish"
            time.sleep(0.2)
        k1.close()
        again = TestClient(port, **tls, cert=kiosk_dir / "kiosk-cert.pem", key=kiosk_dir / "tls.key")
        if again.wait_connected(3):  # its certificate is valid until it expires; its rights are gone
            assert 135 == again.publish("lc/v1/k-one/rec", b"reconnected")
        again.close()
        k2 = TestClient(port, **tls, cert=other_dir / "kiosk-cert.pem", key=other_dir / "tls.key")
        assert k2.wait_connected()
        assert k2.publish("lc/v1/k-two/rec", b"still fine") < 128
        # the registry, published retained by the gateway, reaches kiosks (walk-in slips verify offline)
        gw = TestClient(port, **tls, cert=home / "gateway" / "gateway.pem", key=home / "gateway" / "gateway.key")
        assert gw.wait_connected()
        token = CountyHome.open(home).load_document("registry").token
        assert gw.publish("lc/v1/county/registry", token, retain=True) < 128
        gw.close()
        k2.subscribe("lc/v1/county/registry")
        assert token.encode() == k2.messages.get(timeout=10).payload
        assert 135 == k2.publish("lc/v1/county/registry", b"a forged registry", retain=True)
        # the venue topic: its own open check-ins only, in its own venue only
        assert k2.publish("lc/v1/venue/v-chengguan/open/k-two", b"{}", retain=True) < 128
        assert 135 == k2.publish("lc/v1/venue/v-chengguan/open/k-one", b"{}", retain=True)
        assert 135 == k2.publish("lc/v1/venue/v-other/open/k-two", b"{}", retain=True)
        k2.close()
        registry = county.Registry(CountyHome.open(home).load_document("registry"))
        with pytest.raises(VerificationError) as err:
            registry.key_for("k-one/1")
        assert "revoked-kiosk" == err.value.reason
    finally:
        broker.kill()


class TestCountySigners:
    def test_signer_key_named_in_the_registry_with_its_purpose(self, home: Path) -> None:
        """`provision signer` makes the corrections key beside the gateway's and names it in the registry."""
        made = run("provision", "--home", str(home), "signer")
        assert ("county-corrections", "corrections", 1) == (made["signer"], made["purpose"], made["key_version"])
        key = home / "gateway" / "county-corrections.key"
        assert 0o600 == key.stat().st_mode & 0o777
        registry = county.Registry(CountyHome.open(home).load_document("registry"))
        assert "corrections" == registry.purpose_of("county-corrections")
        assert "county-corrections" not in registry.kiosks
        from records.keys import public_key_text

        assert public_key_text(load_key(key)) == public_key_text(registry.key_for("county-corrections/1"))
        again = run("provision", "--home", str(home), "signer")
        assert 2 == again["key_version"]  # a new version; the old one still verifies old records
        assert (home / "gateway" / "county-corrections.key.v1").exists()

    def test_a_kiosk_cannot_take_a_county_name(self, tmp_path: Path) -> None:
        """A kiosk named like a county signer is refused already when it asks to be enrolled."""
        result = CliRunner().invoke(cli, ["kiosk", "enroll-request", "--kiosk", "county-corrections",
                                          "--out", str(tmp_path / "kiosk")])
        assert isinstance(result.exception, RequestError) and "reserved" in str(result.exception)

    def test_a_signer_key_does_not_sign_walk_in_slips(self, home: Path) -> None:
        """Slips are a kiosk's: the registry's kiosk lookup does not know county signers."""
        run("provision", "--home", str(home), "signer")
        registry = county.Registry(CountyHome.open(home).load_document("registry"))
        with pytest.raises(VerificationError):
            registry.kiosk_key_for("county-corrections/1")
