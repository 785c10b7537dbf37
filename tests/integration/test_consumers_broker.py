"""County systems on the broker: `provision consumers add|list|revoke` on a real Mosquitto
with mutual TLS. A consumer reads the verified stream, the registry and kiosk status and
nothing else; kiosk revocations and broker-config keep it; its own revocation cuts it off."""

from __future__ import annotations

import getpass
import importlib.util
import json
import queue
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from learncard.main import cli
from provisioning.home import CountyHome
from tests.integration.test_provision import enrol, home, run, signed_record  # noqa: F401 (home: a fixture)
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import TestClient
from tests.support.ports import free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "verify_stream.py"


def example():  # noqa: ANN201 - the docs' module
    spec = importlib.util.spec_from_file_location("verify_stream", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def topics_until(client: TestClient, sentinel: str, timeout: float = 20) -> list[str]:
    """Topics received up to and including the sentinel payload (publishes were in order)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            message = client.messages.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"the sentinel never came; saw {seen}") from None
        seen.append(message.topic)
        if message.payload == sentinel.encode():
            return seen


def subscribe_on_connect(client: TestClient, topic: str) -> None:
    """Subscribe now and after every reconnect, as a real consumer does (verify_stream.py):
    Mosquitto drops TLS clients when it re-reads its security settings on SIGHUP, and the
    client reconnects with a clean session."""
    plain = client.client.on_connect

    def on_connect(*args: object) -> None:
        plain(*args)
        client.client.subscribe(topic, 1)

    client.client.on_connect = on_connect
    client.subscribe(topic)


def settled(client: TestClient, timeout: float = 20) -> None:
    """Wait until the client is connected again after a broker reload."""
    deadline = time.monotonic() + timeout
    time.sleep(1.0)  # the broker handles SIGHUP on its next loop
    while not client.client.is_connected():
        assert time.monotonic() < deadline, "the client did not reconnect"
        time.sleep(0.1)
    time.sleep(0.5)  # its subscription, sent on connect


def test_consumer_reads_only_what_the_contract_allows_and_survives_kiosk_revocation(
        home: Path, tmp_path: Path) -> None:  # noqa: F811 (the fixture)
    kiosk_dir = tmp_path / "kiosk"
    enrol(home, kiosk_dir, "k-one")
    stats = run("provision", "--home", str(home), "consumers", "add", "stats")
    assert "consumer-stats" == stats["cn"]
    folder = home / "consumers" / "stats"
    assert 0o600 == (folder / "consumer.key").stat().st_mode & 0o777
    listed = run("provision", "--home", str(home), "consumers", "list")
    assert "active" == listed["stats"]["status"]
    port = free_port()
    paths = run("provision", "--home", str(home), "broker-config", "--out", str(tmp_path / "broker"),
                "--port", str(port), "--address", "127.0.0.1", "--user", getpass.getuser())
    acl = Path(paths["acl"])
    assert "user consumer-stats" in acl.read_text()
    broker = Mosquitto(tmp_path / "broker", port=port).start(Path(paths["config"]))
    tls = {"ca": home / "device-ca.pem"}
    clients: list[TestClient] = []

    def connect(cert: Path, key: Path) -> TestClient:
        client = TestClient(port, **tls, cert=cert, key=key)
        clients.append(client)
        return client

    try:
        gateway = connect(home / "gateway" / "gateway.pem", home / "gateway" / "gateway.key")
        kiosk = connect(kiosk_dir / "kiosk-cert.pem", kiosk_dir / "tls.key")
        consumer = connect(folder / "consumer.pem", folder / "consumer.key")
        for c in (gateway, kiosk, consumer):
            assert c.wait_connected()
        subscribe_on_connect(consumer, "#")  # granted, but the ACL delivers only what it allows
        time.sleep(0.5)
        before = signed_record(kiosk_dir, "k-one", when=datetime.now(UTC) - timedelta(minutes=2))
        assert 0 == kiosk.publish("lc/v1/k-one/rec", before)
        assert 0 == kiosk.publish("lc/v1/k-one/status", b'{"state": "online"}')
        assert 0 == gateway.publish("lc/v1/k-one/ack", b"{}")
        assert 0 == gateway.publish("lc/v1/k-one/cmd/resend", b"{}")
        assert 0 == gateway.publish("lc/v1/county/staff", b"roster", retain=True)
        assert 0 == gateway.publish("lc/v1/county/revoked-cards", b"cards", retain=True)
        assert 0 == gateway.publish("lc/v1/county/registry",
                                    (home / "registry.jws").read_text().strip(), retain=True)
        assert 0 == gateway.publish("lc/v1/verified/v-chengguan", "sentinel-1")
        seen = topics_until(consumer, "sentinel-1")
        assert ["lc/v1/k-one/status", "lc/v1/county/registry", "lc/v1/verified/v-chengguan"] == seen
        assert 135 == consumer.publish("lc/v1/verified/v-chengguan", b"forged")
        assert 135 == consumer.publish("lc/v1/county/registry", b"forged", retain=True)
        assert 135 == consumer.publish("lc/v1/k-one/cmd/resend", b"{}")

        # a kiosk revoked: the ACL is rewritten and still lets the consumer read
        run("provision", "--home", str(home), "revoke", "k-one", "--reason", "stolen")
        assert "user consumer-stats" in acl.read_text()
        broker.proc.send_signal(signal.SIGHUP)
        settled(consumer)
        settled(gateway)
        assert 0 == gateway.publish("lc/v1/verified/v-chengguan", "sentinel-2")
        seen = topics_until(consumer, "sentinel-2")  # after the reconnect: the retained registry first
        assert {"lc/v1/county/registry", "lc/v1/verified/v-chengguan"} == set(seen), seen
        run("provision", "--home", str(home), "broker-config", "--out", str(tmp_path / "broker"),
            "--port", str(port), "--address", "127.0.0.1", "--user", getpass.getuser())
        assert "user consumer-stats" in acl.read_text()

        # the docs' example still accepts what the revoked kiosk signed before its revocation
        module = example()
        issuer = (home / "keys" / "issuer.pub").read_text().strip()
        registry = module.verify_registry((home / "registry.jws").read_text().strip(), issuer, "county-3301")
        assert "revoked" == registry["kiosks"]["k-one"]["status"]
        assert "cn.learncard.kiosk.checkpoint.v1" == module.verify_record(before, registry)["type"]
        later = signed_record(kiosk_dir, "k-one", when=datetime.now(UTC) + timedelta(minutes=5))
        with pytest.raises(ValueError, match="revoked"):
            module.verify_record(later, registry)
    finally:
        for c in clients:
            c.close()
        broker.kill()


def test_revoked_consumer_is_cut_off(home: Path, tmp_path: Path) -> None:  # noqa: F811 (the fixture)
    run("provision", "--home", str(home), "consumers", "add", "stats")
    run("provision", "--home", str(home), "consumers", "add", "archive")
    port = free_port()
    paths = run("provision", "--home", str(home), "broker-config", "--out", str(tmp_path / "broker"),
                "--port", str(port), "--address", "127.0.0.1", "--user", getpass.getuser())
    broker = Mosquitto(tmp_path / "broker", port=port).start(Path(paths["config"]))
    pid_file = tmp_path / "mosquitto.pid"
    pid_file.write_text(f"{broker.proc.pid}\n")
    tls = {"ca": home / "device-ca.pem"}
    stats_dir, archive_dir = home / "consumers" / "stats", home / "consumers" / "archive"
    clients: list[TestClient] = []
    try:
        gateway = TestClient(port, **tls, cert=home / "gateway" / "gateway.pem", key=home / "gateway" / "gateway.key")
        stats = TestClient(port, **tls, cert=stats_dir / "consumer.pem", key=stats_dir / "consumer.key")
        witness = TestClient(port, **tls, cert=archive_dir / "consumer.pem", key=archive_dir / "consumer.key")
        clients += [gateway, stats, witness]
        assert all(c.wait_connected() for c in clients)
        for c in (stats, witness):
            subscribe_on_connect(c, "lc/v1/verified/#")
        time.sleep(0.5)
        assert 0 == gateway.publish("lc/v1/verified/v-a", "before")
        assert ["lc/v1/verified/v-a"] == topics_until(stats, "before")
        assert ["lc/v1/verified/v-a"] == topics_until(witness, "before")

        revoked = run("provision", "--home", str(home), "consumers", "revoke", "stats", "--broker-pid",
                      str(pid_file))
        assert revoked["broker_reloaded"] and "revoked" == revoked["status"]
        text = (tmp_path / "broker" / "acl").read_text()
        assert "user consumer-stats" not in text and "user consumer-archive" in text
        settled(witness)
        settled(gateway)
        assert 0 == gateway.publish("lc/v1/verified/v-a", "after")
        assert ["lc/v1/verified/v-a"] == topics_until(witness, "after")  # the other consumer still reads
        time.sleep(0.5)
        assert stats.messages.empty(), "the revoked consumer still reads"
        # a new connection: refused, or connected with no rights at all
        stats.close()
        again = TestClient(port, **tls, cert=stats_dir / "consumer.pem", key=stats_dir / "consumer.key")
        clients.append(again)
        if again.wait_connected(3):
            again.subscribe("#")
            time.sleep(0.5)
            assert 0 == gateway.publish("lc/v1/verified/v-a", "last")
            topics_until(witness, "last")
            time.sleep(0.5)
            assert again.messages.empty()
            assert 135 == again.publish("lc/v1/verified/v-a", b"forged")
        assert "revoked" == json.loads((home / "consumers.json").read_text())["consumers"]["stats"]["status"]
    finally:
        for c in clients:
            try:
                c.close()
            except Exception:  # noqa: BLE001, S110 - closing twice is fine
                pass
        broker.kill()


def test_consumer_names_are_checked_and_kept_in_the_home(home: Path, tmp_path: Path) -> None:  # noqa: F811
    bad = CliRunner().invoke(cli, ["provision", "--home", str(home), "consumers", "add", "Stats/#"])
    assert 0 != bad.exit_code
    run("provision", "--home", str(home), "consumers", "add", "stats")
    twice = CliRunner().invoke(cli, ["provision", "--home", str(home), "consumers", "add", "stats"])
    assert 0 != twice.exit_code and "exists already" in str(twice.exception)
    unknown = CliRunner().invoke(cli, ["provision", "--home", str(home), "consumers", "revoke", "nobody"])
    assert 0 != unknown.exit_code
    from provisioning import consumers

    assert ["stats"] == consumers.active_names(CountyHome.open(home))


def test_consumer_with_its_own_key_sends_a_request(home: Path, tmp_path: Path) -> None:  # noqa: F811
    from provisioning import ca

    key = ca.new_key()
    csr = tmp_path / "consumer.csr"
    csr.write_bytes(ca.make_csr("consumer-platform", key))
    run("provision", "--home", str(home), "consumers", "add", "platform", "--request", str(csr), "--out",
        str(tmp_path / "platform"))
    assert not (tmp_path / "platform" / "consumer.key").exists()
    wrong = tmp_path / "wrong.csr"
    wrong.write_bytes(ca.make_csr("gateway", key))
    result = CliRunner().invoke(cli, ["provision", "--home", str(home), "consumers", "add", "other", "--request",
                                      str(wrong)])
    assert 0 != result.exit_code
