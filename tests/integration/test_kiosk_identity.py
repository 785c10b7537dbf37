"""A kiosk whose signing key is not the one its enrolment names records no taps (issue 11):
the agent, run as its own process, refuses every tap and its status says what to do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.errors import SigningKeyMismatch
from kiosk.identity import check_signing_key
from kiosk.journal import Journal
from kiosk.signer import write_key
from records import keys
from tests.support.county import TestCounty
from tests.support.kiosk import KioskSetup
from tests.support.venue import ROOT, wait_until


def cli(kiosk: KioskSetup, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "learncard", "kiosk", "--config", str(kiosk.config_file), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def agent_process(tmp_path: Path, county: TestCounty):
    """Start `learncard kiosk agent` for a KioskSetup; yields a starter, kills what it started."""
    started: list[subprocess.Popen[bytes]] = []

    def start(kiosk: KioskSetup) -> subprocess.Popen[bytes]:
        log = open(kiosk.folder / "agent.log", "ab")  # noqa: SIM115 - the child keeps it
        proc = subprocess.Popen([sys.executable, "-m", "learncard", "kiosk", "--config", str(kiosk.config_file),
                                 "agent"], cwd=ROOT, stdout=log, stderr=log, start_new_session=True)
        log.close()
        started.append(proc)
        wait_until("the agent's control socket", lambda: kiosk.socket.exists() or proc.poll() is not None)
        assert proc.poll() is None, (kiosk.folder / "agent.log").read_text()
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=20)


class TestCheckSigningKey:
    def test_the_enrolled_key_passes(self, county: TestCounty) -> None:
        """The key whose public half the bundle names is accepted."""
        key = county.kiosk_key("k-test-1")
        check_signing_key(key, keys.public_key_text(key), "k-test-1")

    def test_another_key_is_refused_without_suggesting_keygen(self, county: TestCounty) -> None:
        """Any other key raises, and the message says what to do (never `keygen`)."""
        with pytest.raises(SigningKeyMismatch) as err:
            check_signing_key(county.kiosk_key("k-other"), keys.public_key_text(county.kiosk_key("k-test-1")))
        assert "keygen" not in str(err.value)
        assert "county IT" in err.value.en and "县信息中心" in err.value.zh


def test_agent_with_a_wrong_key_refuses_taps_and_says_why(tmp_path: Path, county: TestCounty,
                                                            agent_process) -> None:
    """Enrolled with one key, holding another: every tap is refused, nothing is signed, and
    `kiosk status` tells staff to re-install the bundle or call county IT."""
    kiosk = KioskSetup(county, tmp_path / "kiosk")
    kiosk.set("kiosk", "signing_public_key", keys.public_key_text(county.kiosk_key("k-test-1")))
    (kiosk.folder / "kiosk.key").unlink()
    write_key(kiosk.folder / "kiosk.key", keys.private_key_from_seed(os.urandom(32)))  # not the enrolled one
    agent_process(kiosk)
    tap = cli(kiosk, "tap", "--json", county.qr(county.credential()))
    assert 0 == tap.returncode, tap.stderr
    result = json.loads(tap.stdout)
    assert ("refused", "signing-key-mismatch") == (result["outcome"], result["reason"])
    status = cli(kiosk, "status")
    assert "TAPS REFUSED" in status.stdout and "county IT" in status.stdout, status.stdout
    snapshot = json.loads(cli(kiosk, "status", "--json").stdout)
    assert "signing-key-mismatch" == snapshot["health"]["identity"]["code"]
    journal = Journal.open(Path(kiosk.values["kiosk"]["state_dir"]) / "journal.sqlite3")
    try:
        assert 0 == journal.stats().seq  # nothing was signed with the wrong key
    finally:
        journal.close()
    keygen = cli(kiosk, "keygen")
    assert 0 != keygen.returncode and "county IT" in keygen.stderr  # an enrolled kiosk makes no new key


def test_agent_with_its_enrolled_key_records_taps(tmp_path: Path, county: TestCounty, agent_process) -> None:
    """The same check passes for the key the enrolment names: taps are recorded."""
    kiosk = KioskSetup(county, tmp_path / "kiosk")
    kiosk.set("kiosk", "signing_public_key", keys.public_key_text(county.kiosk_key("k-test-1")))
    agent_process(kiosk)
    result = json.loads(cli(kiosk, "tap", "--json", county.qr(county.credential())).stdout)
    assert "checkin" == result["outcome"]
    assert json.loads(cli(kiosk, "status", "--json").stdout)["health"]["identity"] is None
