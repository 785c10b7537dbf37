"""Records on a USB stick: `kiosk export` → `gateway import` → `kiosk import-receipt`. Each
record is stored once, verified by the gateway's own ingest; the receipt settles the kiosk's
outbox; a half-written stick, another county's stick, the same stick twice and another
kiosk's receipt each get a clear answer and lose nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.journal import Journal
from records import chain
from records.record import parse_unverified
from tests.support.cli import learncard, ok
from tests.support.county import TestCounty
from tests.support.kiosk import KioskSetup
from tests.support.mosquitto import Mosquitto
from tests.support.venue import GatewayProcess

REPO = Path(__file__).resolve().parents[2]






def pending(kiosk: KioskSetup) -> list[str]:
    journal = Journal.open(kiosk.folder / "state" / "journal.sqlite3")
    try:
        return [p.token for p in journal.pending(10**6)]
    finally:
        journal.close()


def offline_kiosk(county: TestCounty, folder: Path, taps: int) -> KioskSetup:
    """A kiosk that never had a network, after ``taps`` check-ins."""
    kiosk = KioskSetup(county, folder)
    kiosk.set("rules", "debounce_seconds", 0)
    with kiosk.running():
        client = kiosk.client()
        for _ in range(taps):
            assert "checkin" == client.call("tap", text=county.qr(county.credential()))["outcome"]
        client.close()
    return kiosk


@pytest.fixture
def gateway(tmp_path: Path, county: TestCounty) -> GatewayProcess:
    """The gateway's configuration and county files (no process: import runs on its own)."""
    return GatewayProcess(county, tmp_path / "gateway", Mosquitto(tmp_path / "unused-broker"))


def stick_export(kiosk: KioskSetup, stick: Path) -> Path:
    stick.mkdir(exist_ok=True)
    ok("kiosk", "export", "--config", kiosk.config_file, "--to", stick)
    (path,) = sorted(stick.glob("*.lcx"))
    return path


def test_export_import_receipt_settles_each_record_once(tmp_path: Path, county: TestCounty,
                                                        gateway: GatewayProcess) -> None:
    """Every pending record reaches the store once, as signed and chained; the receipt empties the outbox."""
    kiosk = offline_kiosk(county, tmp_path / "kiosk", 5)
    tokens = pending(kiosk)
    assert len(tokens) >= 5
    export = stick_export(kiosk, tmp_path / "stick")
    out = ok("gateway", "import", export, "--config", gateway.config)
    assert f"{len(tokens)} stored, 0 already stored" in out
    store = gateway.store()
    try:
        assert tokens == store.tokens("k-test-1")
        assert chain.verify_chain(parse_unverified(t) for t in store.tokens("k-test-1")).ok
        status = {r["kiosk"]: r["status"] for r in store.kiosk_table()}
        assert "usb" == status["k-test-1"]["via"]
    finally:
        store.close()
    (receipt,) = sorted((tmp_path / "stick").glob("*.receipt.json"))
    out = ok("kiosk", "import-receipt", receipt, "--config", kiosk.config_file)
    assert f"{len(tokens)} records settled; 0 still pending" in out
    assert [] == pending(kiosk)


def test_the_same_stick_twice_stores_nothing_new(tmp_path: Path, county: TestCounty, gateway: GatewayProcess) -> None:
    """A second import says every record is already stored; its receipt settles nothing more."""
    kiosk = offline_kiosk(county, tmp_path / "kiosk", 3)
    n = len(pending(kiosk))
    export = stick_export(kiosk, tmp_path / "stick")
    ok("gateway", "import", export, "--config", gateway.config)
    receipt = next((tmp_path / "stick").glob("*.receipt.json"))
    ok("kiosk", "import-receipt", receipt, "--config", kiosk.config_file)
    again = ok("gateway", "import", export, "--config", gateway.config)
    assert f"0 stored, {n} already stored" in again
    assert n == gateway.count()
    out = ok("kiosk", "import-receipt", receipt, "--config", kiosk.config_file)
    assert "0 records settled (this receipt was already applied)" in out


def test_a_half_written_stick_is_refused_whole(tmp_path: Path, county: TestCounty, gateway: GatewayProcess) -> None:
    """A file cut short (the stick pulled early) stores nothing; the kiosk keeps every record."""
    kiosk = offline_kiosk(county, tmp_path / "kiosk", 4)
    before = pending(kiosk)
    export = stick_export(kiosk, tmp_path / "stick")
    data = export.read_bytes()
    export.write_bytes(data[: len(data) - 300])
    done = learncard("gateway", "import", export, "--config", gateway.config)
    assert 1 == done.returncode
    assert "incomplete or damaged" in done.stderr and "export it again" in done.stderr
    assert 0 == gateway.count()
    assert before == pending(kiosk)
    assert [] == list((tmp_path / "stick").glob("*.receipt.json"))


def test_another_countys_stick_is_refused(tmp_path: Path, county: TestCounty, gateway: GatewayProcess) -> None:
    """A stick from another county's kiosk: refused by name, nothing stored."""
    other = TestCounty(county_id="county-other")
    kiosk = offline_kiosk(other, tmp_path / "kiosk", 2)
    export = stick_export(kiosk, tmp_path / "stick")
    done = learncard("gateway", "import", export, "--config", gateway.config)
    assert 1 == done.returncode
    assert "this stick is from county county-other" in done.stderr
    assert 0 == gateway.count()


def test_a_forged_record_on_the_stick_is_refused_like_over_mqtt(tmp_path: Path, county: TestCounty,
                                                                 gateway: GatewayProcess) -> None:
    """Records signed by another key under this kiosk's name: the gateway's own rules refuse them (nothing
    stored), and the kiosk loses none: each is still pending or kept in its rejected table."""
    impostor_county = TestCounty(county_id=county.county_id, issuer=county.issuer)  # same county, new kiosk keys
    kiosk = offline_kiosk(impostor_county, tmp_path / "kiosk", 2)
    before = len(pending(kiosk))
    export = stick_export(kiosk, tmp_path / "stick")
    ok("gateway", "import", export, "--config", gateway.config)
    assert 0 == gateway.count()
    receipt = next((tmp_path / "stick").glob("*.receipt.json"))
    learncard("kiosk", "import-receipt", receipt, "--config", kiosk.config_file)
    journal = Journal.open(kiosk.folder / "state" / "journal.sqlite3")
    try:
        stats = journal.stats()
    finally:
        journal.close()
    assert before == stats.pending + stats.rejected


def test_another_kiosks_receipt_settles_nothing(tmp_path: Path, county: TestCounty, gateway: GatewayProcess) -> None:
    """A receipt carried to the wrong kiosk is refused by name; its outbox is untouched."""
    kiosk = offline_kiosk(county, tmp_path / "kiosk", 2)
    export = stick_export(kiosk, tmp_path / "stick")
    ok("gateway", "import", export, "--config", gateway.config)
    receipt = next((tmp_path / "stick").glob("*.receipt.json"))
    other = KioskSetup(county, tmp_path / "other", kiosk_id="k-test-2")
    with other.running():
        client = other.client()
        client.call("tap", text=county.qr(county.credential()))
        client.close()
    before = pending(other)
    done = learncard("kiosk", "import-receipt", receipt, "--config", other.config_file)
    assert 1 == done.returncode
    assert "receipt of kiosk k-test-1, not of this kiosk (k-test-2)" in done.stderr
    assert before == pending(other)
