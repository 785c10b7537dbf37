"""Issue 11, clock: a kiosk takes the gateway's time only from a receipt whose round trip it
measured and found short; it keeps the last trusted time across restarts; a TLS failure is
reported with its cause; the gateway reports each kiosk's skew.

Before: receipts queued while a kiosk was offline set its clock 123 s slow, delayed
receipts set another 11 s back, and a kiosk whose clock kept TLS from connecting said
nothing. Clocks are injected (faketime kills paho)."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kiosk.clock import Clock
from kiosk.journal import Journal
from kiosk.uplink import Uplink
from records.record import format_time
from tests.support.county import TestCounty
from tests.support.kiosk import KioskSetup
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import TestClient
from tests.support.ports import free_port
from tests.support.venue import ROOT, GatewayProcess, kiosk_online, wait_until

WALL_2026 = datetime(2026, 11, 23, 1, 0, 0, tzinfo=UTC).timestamp()


class FakeTime:
    """An injected wall clock and monotonic clock that move only when told."""

    def __init__(self, wall: float = WALL_2026) -> None:
        self.wall_s = wall
        self.mono = 5 * 10**9

    def wall(self) -> float:
        return self.wall_s

    def mono_ns(self) -> int:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall_s += seconds
        self.mono += int(seconds * 1e9)


class Hooks:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.problems: list[dict[str, str] | None] = []

    def set_uplink_state(self, online: bool) -> None:
        pass

    def set_clock_from_gateway(self, gateway_time: str, rtt_s: float) -> None:
        self.clock.set_from_gateway(gateway_time, rtt_s)

    def set_uplink_problem(self, problem: dict[str, str] | None) -> None:
        self.problems.append(problem)

    def update_county_document(self, kind: str, token: str) -> bool:
        return False


@pytest.fixture
def rig(tmp_path: Path):
    """An uplink (not connected) on a real journal, with an injected clock."""
    fake = FakeTime()
    clock = Clock("Asia/Shanghai", ntp_check=False, trusted_file=tmp_path / "trusted-time",
                  wall=fake.wall, mono_ns=fake.mono_ns)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="k-test-1", protocol=mqtt.MQTTv5)
    uplink = Uplink(client, Journal.open(tmp_path / "journal.sqlite3"), "k-test-1", Hooks(clock), dict,
                    max_rtt=2.0, mono_ns=fake.mono_ns)
    yield fake, clock, uplink
    uplink.journal.close()


def receipt(gateway_time: float, correlation: bytes | None) -> mqtt.MQTTMessage:
    """A receipt as the gateway sends it: epoch 1, nothing settled, its ``time``, the echo."""
    message = mqtt.MQTTMessage(topic=b"lc/v1/k-test-1/ack")
    body = {"epoch": 1, "upto": 0, "head": "", "missing": [], "rejected": [],
            "time": format_time(datetime.fromtimestamp(gateway_time, UTC))}
    message.payload = json.dumps(body).encode()
    if correlation is not None:
        message.properties = Properties(PacketTypes.PUBLISH)
        message.properties.CorrelationData = correlation
    return message


def wall_of(clock: Clock) -> float:
    return clock.now().wall.timestamp()


class TestReceiptTime:
    def test_prompt_receipt_sets_the_clock_corrected_by_half_the_round_trip(self, rig) -> None:
        """A receipt 0.4 s after its message: the gateway's time + 0.2 s."""
        fake, clock, uplink = rig
        sent = uplink.stamp().CorrelationData
        fake.advance(0.4)
        gateway_now = fake.wall() + 100  # the gateway is 100 s ahead of this kiosk
        uplink.on_message(receipt(gateway_now - 0.2, sent))
        assert "gateway" == clock.state
        assert abs(wall_of(clock) - gateway_now) < 0.01

    def test_receipt_queued_while_offline_does_not_move_the_clock(self, rig) -> None:
        """The broker kept the receipt 123 s for an offline kiosk: its time is 123 s old."""
        fake, clock, uplink = rig
        sent = uplink.stamp().CorrelationData
        stamped_at = fake.wall()
        fake.advance(123)
        uplink.on_message(receipt(stamped_at + 0.1, sent))
        assert "unset" == clock.state
        assert fake.wall() == wall_of(clock)

    def test_delayed_receipt_does_not_set_the_clock_back(self, rig) -> None:
        fake, clock, uplink = rig
        uplink.on_message(receipt(fake.wall() + 0.1, uplink.stamp().CorrelationData))  # a good one first
        assert abs(wall_of(clock) - fake.wall() - 0.1) < 0.01
        sent = uplink.stamp().CorrelationData
        stamped_at = fake.wall()
        fake.advance(11)
        uplink.on_message(receipt(stamped_at, sent))  # 11 s late
        assert wall_of(clock) >= fake.wall()

    def test_receipt_without_echo_or_from_another_boot_is_not_trusted(self, rig) -> None:
        fake, clock, uplink = rig
        uplink.on_message(receipt(fake.wall() + 500, None))  # a gateway that does not echo (MQTT 3.1.1)
        uplink.on_message(receipt(fake.wall() + 500, f"another-boot/{fake.mono_ns()}".encode()))
        uplink.on_message(receipt(fake.wall() + 500, b"garbage"))
        assert "unset" == clock.state
        assert fake.wall() == wall_of(clock)


class TestLastTrustedTime:
    def test_survives_a_restart_and_the_clock_never_starts_below_it(self, tmp_path: Path) -> None:
        fake = FakeTime()
        clock = Clock(ntp_check=False, trusted_file=tmp_path / "trusted-time", wall=fake.wall, mono_ns=fake.mono_ns)
        clock.set_from_gateway(format_time(datetime.fromtimestamp(fake.wall() + 3600, UTC)), 0.0)
        trusted = fake.wall() + 3600
        # a reboot without a battery: the system clock says 1970
        booted = FakeTime(wall=0.0)
        again = Clock(ntp_check=False, trusted_file=tmp_path / "trusted-time", wall=booted.wall,
                      mono_ns=booted.mono_ns)
        assert wall_of(again) >= trusted - 0.01
        booted.advance(10)
        assert wall_of(again) >= trusted + 9.99  # and it runs on from there

    def test_a_later_system_clock_is_kept(self, tmp_path: Path) -> None:
        (tmp_path / "trusted-time").write_text(f"{WALL_2026:.3f}\n")
        fake = FakeTime(wall=WALL_2026 + 86400)
        clock = Clock(ntp_check=False, trusted_file=tmp_path / "trusted-time", wall=fake.wall, mono_ns=fake.mono_ns)
        assert fake.wall() == wall_of(clock)

    def test_an_unreadable_file_is_ignored(self, tmp_path: Path) -> None:
        (tmp_path / "trusted-time").write_text("not a time\n")
        fake = FakeTime()
        clock = Clock(ntp_check=False, trusted_file=tmp_path / "trusted-time", wall=fake.wall, mono_ns=fake.mono_ns)
        assert fake.wall() == wall_of(clock)


# --- with real processes -------------------------------------------------------------------------------------


@pytest.fixture
def gateway(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto):
    gw = GatewayProcess(county, tmp_path / "gateway", mosquitto, metrics_port=free_port())
    yield gw
    gw.kill()


def tap(kiosk: KioskSetup, county: TestCounty, n: int) -> None:
    with kiosk.client() as c:
        for _ in range(n):
            assert "checkin" == c.call("tap", text=county.qr(county.credential()))["outcome"]


def test_gateway_echo_sets_the_clock_and_it_is_kept(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto,
                                                   gateway: GatewayProcess) -> None:
    gateway.start()
    kiosk = kiosk_online(county, tmp_path / "kiosk", mosquitto)
    with kiosk.running() as app:
        tap(kiosk, county, 2)
        wait_until("the outbox to drain", lambda: app.journal.stats().pending == 0)
        assert "gateway" == app.agent.clock.state
        assert abs(app.agent.clock.now().wall.timestamp() - time.time()) < 2  # same machine, same time
    assert (tmp_path / "kiosk" / "state" / "trusted-time").is_file()


def test_receipts_queued_while_the_kiosk_was_away_do_not_set_its_clock(
        tmp_path: Path, county: TestCounty, mosquitto: Mosquitto, gateway: GatewayProcess) -> None:
    gateway.start()  # once, so that the broker keeps its session (and messages for it) while it is stopped
    log = tmp_path / "gateway" / "gateway.log"
    wait_until("the gateway's subscription", lambda: b"gateway connected" in log.read_bytes())
    gateway.stop()
    kiosk = kiosk_online(county, tmp_path / "kiosk", mosquitto)
    with kiosk.running() as app:
        wait_until("the uplink", lambda: app.agent.online)
        tap(kiosk, county, 3)  # sent; no gateway now: they wait at the broker
        # all three published (the agent wakes the uplink per tap: one, two or three messages);
        # a clean stop then sends them before paho's thread ends (Uplink.stop)
        wait_until("the messages to leave", lambda: app.uplink is not None and app.uplink.cursor is not None
                   and app.uplink.cursor[1] >= app.journal.stats().seq)
    gateway.start()  # the kiosk is away: its receipts wait at the broker for it
    wait_until("the gateway to store them", lambda: 3 == gateway.count())
    gateway.stop()  # so that only the queued receipts can reach the kiosk (no fresh ones)
    time.sleep(3)  # longer than the kiosk's 2 s limit on a round trip
    with kiosk.running() as app:
        wait_until("the queued receipts to settle the records", lambda: app.journal.stats().pending == 0)
        time.sleep(1)
        assert "unset" == app.agent.clock.state  # before: "gateway", from receipts minutes old


def test_gateway_reports_each_kiosks_skew(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto,
                                          gateway: GatewayProcess) -> None:
    gateway.start()
    log = tmp_path / "gateway" / "gateway.log"
    wait_until("the gateway's subscription", lambda: b"gateway connected" in log.read_bytes())
    time.sleep(0.5)  # its SUBACK
    kiosk = TestClient(mosquitto.port)
    assert kiosk.wait_connected()
    ahead = datetime.now(UTC) + timedelta(seconds=300)
    kiosk.publish("lc/v1/k-test-1/status", json.dumps({"state": "online", "time": format_time(ahead)}), retain=True)
    kiosk.close()

    def skew() -> float | None:
        out = subprocess.run([sys.executable, "-m", "learncard", "gateway", "--config", str(gateway.config),
                              "kiosks", "--json"], cwd=ROOT, capture_output=True, text=True, check=True)
        rows = json.loads(out.stdout)
        return rows[0]["status"].get("skew_seconds") if rows else None

    wait_until("the status", lambda: skew() is not None)
    assert 290 < (skew() or 0) < 310
    text = subprocess.run([sys.executable, "-m", "learncard", "gateway", "--config", str(gateway.config),
                           "kiosks"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "skew +3" in text
    with urllib.request.urlopen(f"http://127.0.0.1:{gateway.metrics_port}/metrics", timeout=5) as answer:  # noqa: S310
        metrics = answer.read().decode()
    line = next(x for x in metrics.splitlines() if x.startswith('learncard_gateway_kiosk_clock_skew_seconds{kiosk="k-test-1"}'))
    assert 290 < float(line.split()[-1]) < 310


# --- a TLS failure names its cause -----------------------------------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def tls_files(folder: Path, *, server_valid_from: datetime) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 valid from ``server_valid_from``."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("test CA")).issuer_name(_name("test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder().subject_name(_name("broker")).issuer_name(ca.subject)
              .public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(server_valid_from).not_valid_after(server_valid_from + timedelta(days=30))
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def test_tls_failure_cause_is_in_status(tmp_path: Path, county: TestCounty) -> None:
    """A server certificate "not yet valid" (what a kiosk whose clock is days slow sees)."""
    ca, cert, key = tls_files(tmp_path / "tls", server_valid_from=datetime.now(UTC) + timedelta(days=2))
    tls_port = free_port()
    broker = Mosquitto(tmp_path / "broker", extra_conf=(
        f"listener {tls_port} 127.0.0.1\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n")).start()
    try:
        kiosk = kiosk_online(county, tmp_path / "kiosk", broker)
        kiosk.values["uplink"].update({"port": tls_port, "tls": True, "ca_file": str(ca)})
        kiosk.write()
        with kiosk.running() as app:
            wait_until("the cause in status", lambda: app.agent.uplink_problem is not None, 60)
            with kiosk.client() as c:
                problem = c.call("state")["health"]["uplink_problem"]
            assert "server-certificate-not-yet-valid" == problem["cause"]
            assert "not yet valid" in problem["detail"]
            assert "时钟" in problem["zh_CN"] and "clock" in problem["en"]
            assert not app.agent.online
            shown = subprocess.run([sys.executable, "-m", "learncard", "kiosk", "--config", str(kiosk.config_file),
                                    "status"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
            assert "server-certificate-not-yet-valid" in shown and "check the time" in shown
    finally:
        broker.stop()


def test_connection_causes_are_named(tmp_path: Path) -> None:
    """The diagnosis behind ``uplink_problem``: an unknown CA, an expired server certificate, no broker."""
    from learncard.mqtt import diagnose

    ca, cert, key = tls_files(tmp_path / "tls", server_valid_from=datetime.now(UTC) - timedelta(days=40))
    other_ca = tls_files(tmp_path / "other", server_valid_from=datetime.now(UTC))[0]
    tls_port = free_port()
    broker = Mosquitto(tmp_path / "broker", extra_conf=(
        f"listener {tls_port} 127.0.0.1\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n")).start()
    try:
        section = {"tls": True, "ca_file": str(ca), "cert_file": "", "key_file": ""}
        assert "server-certificate-expired" == diagnose(section, "127.0.0.1", tls_port)["cause"]
        section["ca_file"] = str(other_ca)
        found = diagnose(section, "127.0.0.1", tls_port)
        assert "unknown-ca" == found["cause"], found
        assert "refused" == diagnose(section, "127.0.0.1", free_port())["cause"]
    finally:
        broker.stop()
