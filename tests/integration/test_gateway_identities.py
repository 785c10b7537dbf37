"""Issue 18 with issue 11's broker identities: one certificate per gateway process.

The generated Mosquitto configuration ties each client id to its certificate's CN, so N
gateway processes with the home's one gateway certificate would take over each other's
session. `provision gateways add gateway-2` issues a second identity; two `learncard gateway
run` processes (the first identity's and gateway-2's gateway.toml, as written) share the
`$share/…` subscription on a real Mosquitto with the generated mTLS configuration without
knocking each other off, and every kiosk record is stored once. A stolen kiosk certificate
cannot act as either identity; `gateways revoke` cuts one off while the other works on."""

from __future__ import annotations

import getpass
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509

from gateway.store import Store
from learncard.config import to_toml
from provisioning.errors import RegistryError, RequestError
from provisioning.home import CountyHome
from records import chain, keys
from records.record import parse_unverified
from tests.integration.test_broker_identity import run
from tests.support.fleet import Fleet, SimKiosk, Tls, enrol, healthy, metric
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import TestClient
from tests.support.ports import free_port
from tests.support.postgres import database
from tests.support.venue import wait_until

ROOT = Path(__file__).resolve().parents[2]
NOT_AUTHORISED = 135


@pytest.fixture
def county(tmp_path: Path) -> tuple[Path, dict[str, bytes], dict[str, Tls], int]:
    """A county home with three kiosks enrolled (kiosk-CA certificates), gateway/gateway.toml as
    `provision init` writes it, and the broker configuration `provision broker-config` writes."""
    seeds = {k: os.urandom(32) for k in ("k-a", "k-b", "k-c")}
    home_path = tmp_path / "county"
    home, tls = enrol(home_path, {k: "v-one" for k in seeds}, seeds)
    port = free_port()
    (home_path / "gateway" / "gateway.toml").write_text(to_toml(home.gateway_values("localhost", port)))
    return home_path, seeds, tls, port


def broker_config(home: Path, folder: Path, port: int) -> Path:
    run("provision", "--home", str(home), "broker-config", "--out", str(folder), "--port", str(port),
        "--address", "127.0.0.1", "--user", getpass.getuser())
    conf = folder / "mosquitto.conf"
    conf.write_text(conf.read_text() + f"log_dest file {folder / 'broker.log'}\n")  # the test reads the log
    return conf


@contextmanager
def gateway_run(config: Path, store_url: str, folder: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`learncard gateway --config CONFIG run` as written in docs/scale.md; the environment
    only moves what two processes on one host cannot share (metrics port, lock file)."""
    port = free_port()
    env = {**os.environ, "LEARNCARD_STORE__URL": store_url, "LEARNCARD_GATEWAY__METRICS_PORT": str(port),
           "LEARNCARD_GATEWAY__LOCK_FILE": str(folder / f"{config.stem}.lock"),
           "LEARNCARD_GATEWAY__GAP_GRACE_SECONDS": "2", "LEARNCARD_LRS__ENABLED": "false"}
    with open(folder / f"{config.stem}.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "learncard", "-v", "gateway", "--config", str(config), "run"],
                                cwd=ROOT, stdout=log, stderr=log, env=env, start_new_session=True)
    try:
        wait_until(f"{config.name} healthy", lambda: proc.poll() is None and healthy(port), 120)
        yield proc, port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def connects(log: Path, cn: str) -> int:
    return sum(1 for line in log.read_text().splitlines() if "New client connected" in line and f" as {cn} " in line)


def test_gateways_add_issues_a_device_ca_identity_with_its_own_config(county: tuple, tmp_path: Path) -> None:
    home, _, _, port = county
    out = run("provision", "--home", str(home), "gateways", "add", "gateway-2")
    assert "gateway-2.toml" in out
    cert = x509.load_pem_x509_certificate((home / "gateway" / "gateway-2.pem").read_bytes())
    device_ca = x509.load_pem_x509_certificate((home / "device-ca.pem").read_bytes())
    kiosk_ca = x509.load_pem_x509_certificate((home / "kiosk-ca.pem").read_bytes())
    cert.verify_directly_issued_by(device_ca)
    assert cert.issuer != kiosk_ca.subject
    assert "gateway-2" == cert.subject.rfc4514_string().removeprefix("CN=")
    assert 0o600 == (home / "gateway" / "gateway-2.key").stat().st_mode & 0o777
    toml = (home / "gateway" / "gateway-2.toml").read_text()
    assert 'client_id = "gateway-2"' in toml and 'cert_file = "gateway-2.pem"' in toml and f"port = {port}" in toml
    listed = run("provision", "--home", str(home), "gateways", "list")
    assert "gateway " in listed and "gateway-2" in listed
    # names: gateway-<name> only, never twice (a revoked certificate stays valid until it expires)
    for bad in ("gateway", "k-a", "gw-2", "gateway-"):
        with pytest.raises(RequestError):
            run("provision", "--home", str(home), "gateways", "add", bad)
    with pytest.raises(RegistryError):
        run("provision", "--home", str(home), "gateways", "add", "gateway-2")
    run("provision", "--home", str(home), "gateways", "revoke", "gateway-2")
    with pytest.raises(RegistryError, match="never issued again"):
        run("provision", "--home", str(home), "gateways", "add", "gateway-2")


def test_a_kiosk_of_an_old_home_named_like_a_gateway_blocks_that_name(county: tuple) -> None:
    """Before reserved names, a kiosk could be enrolled as gateway-3 (its certificate from the
    device CA): issuing gateway-3 now would give that certificate the gateway's rights."""
    home, _, _, _ = county
    h = CountyHome.open(home)
    body = dict(h.load_document("registry").body)
    body["kiosks"] = {**body["kiosks"], "gateway-3": {"venue": "v-one", "level": "library", "status": "revoked",
                                                      "keys": {}}}
    h.save_document("registry", body)
    with pytest.raises(RegistryError, match="kiosk"):
        run("provision", "--home", str(home), "gateways", "add", "gateway-3")


def test_every_acl_rewrite_keeps_each_active_gateway_identity(county: tuple, tmp_path: Path) -> None:
    home, _, _, port = county
    run("provision", "--home", str(home), "gateways", "add", "gateway-2")
    run("provision", "--home", str(home), "gateways", "add", "gateway-east")
    broker_config(home, tmp_path / "broker", port)
    acl = tmp_path / "broker" / "acl"
    for cn in ("gateway", "gateway-2", "gateway-east"):
        assert f"user {cn}\ntopic read lc/v1/+/rec\n" in acl.read_text()
    run("provision", "--home", str(home), "consumers", "add", "stats")  # another rewrite
    run("provision", "--home", str(home), "revoke", "k-c", "--reason", "stolen")  # and a kiosk's
    text = acl.read_text()
    assert "user gateway-2\n" in text and "user gateway-east\n" in text and "user consumer-stats\n" in text
    run("provision", "--home", str(home), "gateways", "revoke", "gateway-east")
    text = acl.read_text()
    assert "user gateway-east" not in text and "user gateway-2\n" in text and "user gateway\n" in text
    run("provision", "--home", str(home), "gateways", "revoke", "gateway")  # the first one too
    assert "user gateway\n" not in acl.read_text() and "user gateway-2\n" in acl.read_text()
    assert "gateway " in run("provision", "--home", str(home), "gateways", "list")


def test_two_gateway_processes_with_their_own_certificates_share_the_work(county: tuple, tmp_path: Path) -> None:
    home, seeds, tls, port = county
    run("provision", "--home", str(home), "gateways", "add", "gateway-2")
    conf = broker_config(home, tmp_path / "broker", port)
    log = tmp_path / "broker" / "broker.log"
    broker = Mosquitto(tmp_path / "broker", port=port).start(conf)
    kiosks = [SimKiosk(k, "v-one", keys.private_key_from_seed(s), window=2, batch_size=5, resend_after=5)
              for k, s in seeds.items()]
    gw = home / "gateway"
    clients: list[TestClient] = []
    try:
        with database() as url, gateway_run(gw / "gateway.toml", url, tmp_path) as (first, p1), \
                gateway_run(gw / "gateway-2.toml", url, tmp_path) as (second, p2):
            fleet = Fleet(kiosks, port, tls)
            fleet.connect_all()
            for _ in range(10):
                for k in kiosks:
                    for _ in range(6):
                        k.tap()
                fleet.pump(0.5)
            assert fleet.run_until(lambda: not any(k.unsettled() for k in kiosks), 180), \
                f"unsettled: {sum(k.unsettled() for k in kiosks)}"
            # both processes did work on the shared subscription, each connected once, nobody was taken over
            assert metric(p1, "learncard_gateway_records_stored") > 0
            assert metric(p2, "learncard_gateway_records_stored") > 0
            # a stolen kiosk certificate asks for both gateways' client ids: it stays k-a
            for stolen in ("gateway", "gateway-2"):
                thief = TestClient(port, ca=home / "device-ca.pem", client_id=stolen, cert=tls["k-a"].cert,
                                   key=tls["k-a"].key)
                clients.append(thief)
                assert thief.wait_connected()
                assert NOT_AUTHORISED == thief.publish("lc/v1/k-b/ack", b'{"epoch":1,"upto":40}')
                assert NOT_AUTHORISED == thief.publish("lc/v1/county/registry", b"forged", retain=True)
                thief.close()  # it took over k-a's own session (its CN), never a gateway's
            fleet.pump(1.0)
            for k in kiosks:  # k-a, knocked off by the thief on its own session, comes back as the agent would
                if not k.online:
                    assert k.client is not None
                    k.client.reconnect()
            assert fleet.run_until(lambda: all(k.online for k in kiosks), 60)
            text = log.read_text()
            assert 1 == connects(log, "gateway") and 1 == connects(log, "gateway-2"), text
            for cn in ("gateway", "gateway-2"):
                assert f"Client {cn} already connected" not in text, text
            assert first.poll() is None and second.poll() is None

            # gateway-2 is revoked (its process stopped or not): it is cut off, gateway goes on alone
            os.killpg(second.pid, signal.SIGKILL)
            second.wait()
            run("provision", "--home", str(home), "gateways", "revoke", "gateway-2", "--reason", "host stolen")
            assert broker.proc is not None
            broker.proc.send_signal(signal.SIGHUP)
            g2 = TestClient(port, ca=home / "device-ca.pem", client_id="gateway-2", cert=gw / "gateway-2.pem",
                            key=gw / "gateway-2.key")
            clients.append(g2)
            assert g2.wait_connected()
            wait_until("the ACL re-read", lambda: g2.publish("lc/v1/k-b/ack", b"{}") == NOT_AUTHORISED, 30)
            assert NOT_AUTHORISED == g2.publish("lc/v1/county/staff", b"forged", retain=True)
            for k in kiosks:
                for _ in range(5):
                    k.tap()
            assert fleet.run_until(lambda: not any(k.unsettled() for k in kiosks), 180), \
                f"unsettled after the revocation: {sum(k.unsettled() for k in kiosks)}"
            assert first.poll() is None and 1 == connects(log, "gateway")
            fleet.disconnect_all()
            store = Store.open(url)
            tokens = store.tokens()
            store.close()
    finally:
        for c in clients:
            c.close()
        broker.kill()
    made = {rid for k in kiosks for rid in k.taps}
    stored = Counter(parse_unverified(t).id for t in tokens)
    assert made == set(stored) and 1 == max(stored.values())
    records = [parse_unverified(t) for t in tokens]
    for k in kiosks:
        assert chain.verify_chain(r for r in records if r.kiosk == k.kiosk).ok
