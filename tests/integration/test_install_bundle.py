"""`learncard kiosk install-bundle`: the enrolment bundle placed with absolute paths, owners
and modes, after checking the kiosk's keys are the enrolled ones; a wrong bundle (another
kiosk's, a key that is not the enrolled one) is refused with nothing written and no advice
to make a new key; the agent runs from what was placed."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from learncard import config
from learncard.settings import SCHEMA
from tests.integration.test_install import entry, mode_owner, scratch_root
from tests.support.cli import learncard, ok
from tests.support.notify import NotifySocket

REPO = Path(__file__).resolve().parents[2]






@pytest.fixture
def kiosk_host(tmp_path: Path) -> tuple[Path, Path]:
    """An installed kiosk that made its keys and request in /var/lib/learncard, and the county home."""
    root = scratch_root(tmp_path)
    ok("install", "kiosk", "--root", str(root), "--develop")
    home = tmp_path / "county"
    ok("provision", "--home", str(home), "init", "--county", "county-3301", "--home-page", "https://learn.example")
    ok("kiosk", "enroll-request", "--kiosk", "k-chengguan-1", "--out", str(root / "var/lib/learncard"))
    return root, home


def enroll(home: Path, out: Path, *args: str) -> Path:
    ok("provision", "--home", str(home), "enroll", *args, "--venue", "v-chengguan", "--level", "township-school",
       "--out", str(out))
    return out


def test_bundle_placed_with_absolute_paths_owners_and_modes(kiosk_host: tuple[Path, Path], tmp_path: Path) -> None:
    """Every file where the units look; kiosk.toml names only absolute paths; twice changes nothing."""
    root, home = kiosk_host
    bundle = enroll(home, tmp_path / "bundle", "--request", str(root / "var/lib/learncard/enroll-request.jws"))
    out = ok("kiosk", "install-bundle", str(bundle), "--root", str(root))
    assert "made: /etc/learncard/kiosk.toml" in out
    assert ("640", "root") == mode_owner(root, "/etc/learncard/kiosk.toml")
    assert ("644", "root") == mode_owner(root, "/etc/learncard/kiosk-cert.pem")
    assert "600" == mode_owner(root, "/var/lib/learncard/kiosk.key")[0]
    cfg = config.load(SCHEMA, config_file=root / "etc/learncard/kiosk.toml", env={}, require=("kiosk", "county"))
    assert "/var/lib/learncard/kiosk.key" == cfg["kiosk"]["key_path"]
    assert "/var/lib/learncard" == cfg["kiosk"]["state_dir"]
    assert ("/etc/learncard/device-ca.pem", "/etc/learncard/kiosk-cert.pem", "/var/lib/learncard/tls.key") == (
        cfg["uplink"]["ca_file"], cfg["uplink"]["cert_file"], cfg["uplink"]["key_file"])
    again = ok("kiosk", "install-bundle", str(bundle), "--root", str(root))
    assert [] == [line for line in again.splitlines() if line.startswith("made:")]
    entry(root, "group", "learncard")


def test_the_agent_runs_from_the_placed_files(kiosk_host: tuple[Path, Path], tmp_path: Path) -> None:
    """The placed kiosk.toml (paths moved under the scratch root) starts the installed agent: READY=1."""
    root, home = kiosk_host
    bundle = enroll(home, tmp_path / "bundle", "--request", str(root / "var/lib/learncard/enroll-request.jws"))
    ok("kiosk", "install-bundle", str(bundle), "--root", str(root))
    text = (root / "etc/learncard/kiosk.toml").read_text()
    moved = text.replace('"/etc/', f'"{root}/etc/').replace('"/var/', f'"{root}/var/')
    (root / "etc/learncard/kiosk.toml").write_text(moved)
    sock_dir = Path(tempfile.mkdtemp(prefix="lc-b-"))
    notify = NotifySocket(sock_dir / "notify")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNCARD_", "PYTHONPATH"))}
    env.update(notify.env())
    proc = subprocess.Popen([str(root / "opt/learncard/bin/learncard"), "--config", str(root / "etc/learncard/kiosk.toml"),
                             "--set", f"control.socket={sock_dir / 'agent.sock'}", "--set", "uplink.host=",
                             "kiosk", "agent"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        notify.wait_for("READY", "1", alive=lambda: proc.poll() is None)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        notify.close()


def test_a_bundle_for_another_key_is_refused(kiosk_host: tuple[Path, Path], tmp_path: Path) -> None:
    """Another kiosk's lab bundle on this kiosk (its own key in place): refused, nothing written, no keygen advice."""
    root, home = kiosk_host
    bundle = enroll(home, tmp_path / "other", "--generate", "--kiosk", "k-other-1")
    done = learncard("kiosk", "install-bundle", str(bundle), "--root", str(root))
    assert 1 == done.returncode
    assert "signing key other than the one it was enrolled with" in done.stderr
    assert "keygen" not in done.stderr + done.stdout
    assert not (root / "etc/learncard/kiosk.toml").exists()


def test_a_bundle_for_another_kiosk_after_enrolment_is_refused(kiosk_host: tuple[Path, Path], tmp_path: Path) -> None:
    """Once enrolled as one kiosk, a second kiosk's bundle is refused: its journal would go on under the wrong name."""
    root, home = kiosk_host
    mine = enroll(home, tmp_path / "bundle", "--request", str(root / "var/lib/learncard/enroll-request.jws"))
    ok("kiosk", "install-bundle", str(mine), "--root", str(root))
    before = (root / "etc/learncard/kiosk.toml").read_bytes()
    other = enroll(home, tmp_path / "other", "--generate", "--kiosk", "k-other-1")
    done = learncard("kiosk", "install-bundle", str(other), "--root", str(root))
    assert 1 == done.returncode
    assert "enrolled as k-chengguan-1" in done.stderr
    assert before == (root / "etc/learncard/kiosk.toml").read_bytes()


def test_a_lab_bundle_brings_its_keys(tmp_path: Path) -> None:
    """A kiosk with no keys takes a lab bundle's (enroll --generate), placed 0600 for the learncard user."""
    root = scratch_root(tmp_path)
    ok("install", "kiosk", "--root", str(root), "--develop")
    home = tmp_path / "county"
    ok("provision", "--home", str(home), "init", "--county", "county-3301", "--home-page", "https://learn.example")
    bundle = enroll(home, tmp_path / "lab", "--generate", "--kiosk", "k-lab-1")
    ok("kiosk", "install-bundle", str(bundle), "--root", str(root))
    assert ("600", "learncard") == mode_owner(root, "/var/lib/learncard/kiosk.key")
    assert ("600", "learncard") == mode_owner(root, "/var/lib/learncard/tls.key")
