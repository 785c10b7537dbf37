"""`learncard install kiosk|gateway --root DIR` into a scratch root: users, folders, modes,
units enabled, udev rules, Mosquitto's snippet; idempotent; the units verify there; the
agent and the gateway run from what was installed (READY=1 on a notify socket); uninstall
keeps the data."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket as sock_module
import ssl
import subprocess
import tempfile
from pathlib import Path

import pytest

from learncard import install as installer
from tests.support.cli import learncard, ok
from tests.support.county import TestCounty
from tests.support.kiosk import KioskSetup
from tests.support.mosquitto import Mosquitto
from tests.support.notify import NotifySocket
from tests.support.ports import free_port, wait_listening
from tests.support.venue import GatewayProcess

REPO = Path(__file__).resolve().parents[2]


def scratch_root(folder: Path) -> Path:
    """A machine's /etc/passwd and /etc/group (this one's) and empty shadow files."""
    root = folder / "root"
    (root / "etc").mkdir(parents=True)
    for name in ("passwd", "group"):
        shutil.copy(f"/etc/{name}", root / "etc" / name)
    for name in ("shadow", "gshadow"):
        (root / "etc" / name).touch(mode=0o600)
    return root




def entry(root: Path, table: str, name: str) -> list[str]:
    for line in (root / "etc" / table).read_text().splitlines():
        if line.split(":")[0] == name:
            return line.split(":")
    raise AssertionError(f"{name} not in {table}")


def mode_owner(root: Path, absolute: str) -> tuple[str, str]:
    st = (root / absolute.lstrip("/")).stat()
    users = {int(e[2]): e[0] for e in (line.split(":") for line in (root / "etc/passwd").read_text().splitlines())}
    return oct(st.st_mode & 0o7777)[2:], users.get(st.st_uid, str(st.st_uid))


def run_installed(root: Path, args: list[str], notify: NotifySocket, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNCARD_", "PYTHONPATH"))}
    env.update(notify.env())
    with open(log, "ab") as handle:
        return subprocess.Popen([str(root / "opt/learncard/bin/learncard"), *args], env=env, cwd="/",
                                stdout=handle, stderr=handle, start_new_session=True)


@pytest.fixture
def notify() -> NotifySocket:
    sock = NotifySocket(Path(tempfile.mkdtemp(prefix="lc-i-")) / "notify")
    yield sock
    sock.close()


class TestKiosk:
    def test_install_is_complete_and_idempotent(self, tmp_path: Path) -> None:
        """Users in their groups, folders with owners and modes, units and rules, enabled; a second run makes nothing."""
        root = scratch_root(tmp_path)
        first = learncard("install", "kiosk", "--root", str(root), "--develop")
        assert 0 == first.returncode, first.stderr
        assert "learncard" in entry(root, "group", "plugdev")[3].split(",")
        assert "learncard-ui" in entry(root, "group", "learncard")[3].split(",")
        assert "/usr/sbin/nologin" == entry(root, "passwd", "learncard")[6]
        assert ("750", "root") == mode_owner(root, "/etc/learncard")
        assert ("700", "learncard") == mode_owner(root, "/var/lib/learncard")
        assert ("700", "learncard-ui") == mode_owner(root, "/var/lib/learncard-ui")
        for unit in ("learncard-agent.service", "learncard-ui.service"):
            assert (REPO / "systemd" / unit).read_bytes() == (root / "etc/systemd/system" / unit).read_bytes()
        assert (root / "etc/systemd/system/multi-user.target.wants/learncard-agent.service").is_symlink()
        assert (root / "etc/systemd/system/graphical.target.wants/learncard-ui.service").is_symlink()
        assert (REPO / "udev/60-learncard-readers.rules").read_bytes() == (root / installer.UDEV_RULES).read_bytes()
        assert (root / installer.NFC_BLACKLIST).is_file() and (root / installer.PAM_SERVICE).is_file()
        again = learncard("install", "kiosk", "--root", str(root), "--develop")
        assert 0 == again.returncode, again.stderr
        assert [] == [line for line in again.stdout.splitlines() if line.startswith("made:")]

    @pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
    def test_installed_units_verify(self, tmp_path: Path) -> None:
        """systemd-analyze verify passes on the units as installed, starting the installed launcher."""
        root = scratch_root(tmp_path)
        assert 0 == learncard("install", "kiosk", "--root", str(root), "--develop").returncode
        shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
        for stub in ("usr/bin/cage", "bin/kill"):
            (root / stub).parent.mkdir(parents=True, exist_ok=True)
            (root / stub).write_text("#!/bin/sh\n")
            (root / stub).chmod(0o755)
        done = subprocess.run(["systemd-analyze", "verify", f"--root={root}", "learncard-agent.service",
                               "learncard-ui.service"], capture_output=True, text=True, timeout=120, check=False)
        assert (0, "") == (done.returncode, done.stderr)

    def test_the_agent_runs_from_what_was_installed(self, tmp_path: Path, county: TestCounty,
                                                    notify: NotifySocket) -> None:
        """/opt/learncard/bin/learncard --config /etc/learncard/kiosk.toml kiosk agent gets READY=1."""
        root = scratch_root(tmp_path)
        assert 0 == learncard("install", "kiosk", "--root", str(root), "--develop").returncode
        kiosk = KioskSetup(county, tmp_path / "kiosk")
        config = root / "etc/learncard/kiosk.toml"
        shutil.copy(kiosk.config_file, config)
        proc = run_installed(root, ["--config", str(config), "kiosk", "agent"], notify, tmp_path / "agent.log")
        try:
            notify.wait_for("READY", "1", alive=lambda: proc.poll() is None)
            assert kiosk.socket.exists()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        assert 0 == proc.returncode

    def test_uninstall_keeps_the_data(self, tmp_path: Path) -> None:
        """Program, units and rules go; settings, keys, journal and users stay; twice is fine."""
        root = scratch_root(tmp_path)
        assert 0 == learncard("install", "kiosk", "--root", str(root), "--develop").returncode
        (root / "etc/learncard/kiosk.toml").write_text("[kiosk]\n")
        (root / "var/lib/learncard/journal.sqlite3").write_bytes(b"records")
        for _ in range(2):
            done = learncard("uninstall", "--root", str(root))
            assert 0 == done.returncode, done.stderr
        assert not (root / "opt/learncard").exists()
        assert not (root / "etc/systemd/system/learncard-agent.service").exists()
        assert not (root / "etc/systemd/system/multi-user.target.wants/learncard-agent.service").is_symlink()
        assert not (root / installer.UDEV_RULES).exists()
        assert "[kiosk]\n" == (root / "etc/learncard/kiosk.toml").read_text()
        assert b"records" == (root / "var/lib/learncard/journal.sqlite3").read_bytes()
        entry(root, "passwd", "learncard")

    def test_not_a_system_root_is_refused(self, tmp_path: Path) -> None:
        """--root at an empty folder: a clear error, nothing written."""
        done = learncard("install", "kiosk", "--root", str(tmp_path), "--develop")
        assert 1 == done.returncode
        assert "must be a system root" in done.stderr
        assert [] == list(tmp_path.iterdir())


class TestGateway:
    def test_the_gateway_runs_from_what_was_installed(self, tmp_path: Path, county: TestCounty,
                                                      mosquitto: Mosquitto, notify: NotifySocket) -> None:
        """Installed gateway: READY=1 once store and broker are up; the Mosquitto snippet is in conf.d."""
        root = scratch_root(tmp_path)
        done = learncard("install", "gateway", "--root", str(root), "--develop", "--broker-port", "8884")
        assert 0 == done.returncode, done.stderr
        snippet = (root / installer.MOSQUITTO_SNIPPET).read_text()
        assert "listener 8884 0.0.0.0" in snippet and "max_queued_messages 0" in snippet
        assert ("750", "learncard") == mode_owner(root, "/var/lib/learncard")
        gw = GatewayProcess(county, root / "etc/learncard/gateway", mosquitto)
        proc = run_installed(root, ["--config", str(gw.config), "gateway", "run"], notify, tmp_path / "gw.log")
        try:
            ready = notify.wait_for("READY", "1", alive=lambda: proc.poll() is None)
            assert "ingesting: store open, broker session up" == ready["STATUS"]
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


def test_the_mosquitto_snippet_serves_kiosks_over_mutual_tls(tmp_path: Path) -> None:
    """Debian's main mosquitto.conf + the installed conf.d snippet + the county's broker files:
    the broker listens, a kiosk with its certificate completes the TLS handshake, a client
    without one is turned away."""
    root = scratch_root(tmp_path)
    port = free_port()
    assert 0 == learncard("install", "gateway", "--root", str(root), "--develop", "--broker-port",
                          str(port)).returncode
    home = tmp_path / "county"
    ok("provision", "--home", home, "init", "--county", "county-3301", "--home-page", "https://learn.example")
    kiosk = tmp_path / "kiosk"
    ok("provision", "--home", home, "enroll", "--generate", "--kiosk", "k-1", "--venue", "v-1", "--level",
       "township-school", "--out", kiosk)
    ok("provision", "--home", home, "broker-config", "--out", tmp_path / "broker")
    files = root / "etc/mosquitto/learncard"
    files.mkdir(parents=True)
    for source, name in ((home / "broker/server.pem", "server.pem"), (home / "broker/server.key", "server.key"),
                         (tmp_path / "broker/client-cas.pem", "client-cas.pem"), (tmp_path / "broker/acl", "acl")):
        shutil.copy(source, files / name)
    snippet = root / installer.MOSQUITTO_SNIPPET
    snippet.write_text(snippet.read_text().replace(" /etc/mosquitto/", f" {root}/etc/mosquitto/")
                       .replace(f"listener {port} 0.0.0.0", f"listener {port} 127.0.0.1"))
    main = root / "etc/mosquitto/mosquitto.conf"  # what Debian's package ships, moved under the root
    (root / "var/lib/mosquitto").mkdir(parents=True)
    main.write_text(f"user {getpass.getuser()}\npid_file {root}/mosquitto.pid\npersistence true\n"
                    f"persistence_location {root}/var/lib/mosquitto/\nlog_dest file {root}/mosquitto.log\n"
                    f"include_dir {root}/etc/mosquitto/conf.d\n")
    broker = Mosquitto(root / "var/lib/mosquitto", port=port)
    broker.log = root / "mosquitto.log"
    broker.start(conf=main)
    try:
        wait_listening(port, timeout=30)
        context = ssl.create_default_context(cafile=str(home / "device-ca.pem"))
        context.check_hostname = False
        context.load_cert_chain(str(kiosk / "kiosk-cert.pem"), str(kiosk / "tls.key"))
        with sock_module.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                context.wrap_socket(raw) as tls:
            tls.sendall(bytes([0x10, 0x10, 0x00, 0x04]) + b"MQTT" + bytes([0x04, 0x02, 0x00, 0x3C, 0x00, 0x04])
                        + b"k-1x")  # MQTT 3.1.1 CONNECT, client id "k-1x"
            assert 0x20 == tls.recv(4)[0]  # CONNACK: a kiosk's certificate is let in
        bare = ssl.create_default_context(cafile=str(home / "device-ca.pem"))
        bare.check_hostname = False
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)), \
                sock_module.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                bare.wrap_socket(raw) as tls:
            tls.sendall(b"\x10\x00")
            if not tls.recv(4):
                raise ConnectionError("closed without a certificate")
    finally:
        broker.stop()
