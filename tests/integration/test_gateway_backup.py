"""`gateway backup` while the gateway runs, `gateway restore` with it stopped: the gateway
carries on, gets back from the kiosk (by its own resend request) what it receipted after the
backup, and ends with every record once; the replaced store is kept; a damaged backup is
refused before anything is touched."""

from __future__ import annotations

from pathlib import Path

from records import chain
from records.record import parse_unverified
from tests.support.cli import learncard
from tests.support.county import TestCounty
from tests.support.mosquitto import Mosquitto
from tests.support.venue import GatewayProcess, kiosk_online, wait_until

REPO = Path(__file__).resolve().parents[2]




def tap(kiosk, county: TestCounty, n: int) -> None:  # noqa: ANN001 (KioskSetup)
    client = kiosk.client()
    for _ in range(n):
        assert "checkin" == client.call("tap", text=county.qr(county.credential()))["outcome"]
    client.close()


def test_backup_restore_and_the_gateway_carries_on(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto) -> None:
    """Records receipted after the backup come back from the kiosk after the restore; each stored once."""
    gateway = GatewayProcess(county, tmp_path / "gateway", mosquitto).start()
    kiosk = kiosk_online(county, tmp_path / "kiosk", mosquitto)
    backup_file = tmp_path / "backups" / "store.sqlite3"
    backup_file.parent.mkdir()
    try:
        with kiosk.running() as app:
            wait_until("the uplink", lambda: app.agent.online)
            tap(kiosk, county, 3)
            wait_until("the outbox to empty", lambda: app.journal.stats().pending == 0)
            done = learncard("gateway", "backup", "--to", backup_file, "--config", gateway.config)
            assert 0 == done.returncode, done.stderr
            at_backup = gateway.count()
            tap(kiosk, county, 4)
            wait_until("the outbox to empty again", lambda: app.journal.stats().pending == 0)
            assert gateway.count() > at_backup
            gateway.stop()
            done = learncard("gateway", "restore", backup_file, "--config", gateway.config)
            assert 0 == done.returncode, done.stderr
            assert "the replaced store is kept at" in done.stdout
            assert at_backup == gateway.count()
            gateway.start()
            tap(kiosk, county, 1)
            stats = app.journal.stats()
            everything = app.journal.records_between(stats.epoch, 1, stats.seq)
            wait_until("the gateway to get back what it lost", lambda: gateway.count() == len(everything), 120)
            wait_until("the outbox to empty", lambda: app.journal.stats().pending == 0)
    finally:
        gateway.kill()
    store = gateway.store()
    try:
        tokens = store.tokens("k-test-1")
    finally:
        store.close()
    assert everything == tokens
    assert chain.verify_chain(parse_unverified(t) for t in tokens).ok
    assert 1 == len(list((tmp_path / "gateway").glob("gateway.sqlite3.before-restore-*")))


def test_a_damaged_backup_is_refused(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto) -> None:
    """A backup that is not a whole store is refused; the store in place is untouched."""
    gateway = GatewayProcess(county, tmp_path / "gateway", mosquitto)
    store = gateway.store()
    store.close()
    before = (tmp_path / "gateway" / "gateway.sqlite3").read_bytes()
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    done = learncard("gateway", "restore", bad, "--config", gateway.config)
    assert 1 == done.returncode
    assert "restore failed" in done.stderr
    assert before == (tmp_path / "gateway" / "gateway.sqlite3").read_bytes()
