"""Issue 11 with real processes (Mosquitto, `learncard gateway run`, a kiosk agent with its
journal and uplink): every tap answered "done" ends stored once at the county, through a
replaced SD card, a stolen certificate without the key, a kiosk enrolled while the gateway
runs, and lines with positions no kiosk can hold."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest

from records import jws
from tests.support.county import TestCounty
from tests.support.gateway import KioskChain
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import TestClient
from tests.support.venue import ROOT, GatewayProcess, kiosk_online, wait_until


@pytest.fixture
def gateway(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto):
    gw = GatewayProcess(county, tmp_path / "gateway", mosquitto, kiosks={"k-test-1": "v-test", "k-b": "v-test"})
    gw.start()
    yield gw
    gw.kill()


def tap(kiosk, county: TestCounty, n: int) -> list[str]:
    """n taps of new learners, each answered "checkin"; returns their record ids."""
    c = kiosk.client()
    try:
        ids = []
        for _ in range(n):
            result = c.call("tap", text=county.qr(county.credential()))
            assert "checkin" == result["outcome"], result
            ids.append(result["record_id"])
        return ids
    finally:
        c.close()


def rows(gateway: GatewayProcess, sql: str) -> list[tuple]:
    store = gateway.store()
    try:
        return store.query(sql)
    finally:
        store.close()


def stored_ids(gateway: GatewayProcess, kiosk: str) -> list[str]:
    return [r[0] for r in rows(gateway, f"SELECT id FROM records WHERE kiosk = '{kiosk}' AND type = "  # noqa: S608
                                        "'attendance.checkin'")]


def kept_apart(gateway: GatewayProcess) -> int:
    """Lines the gateway refused or rejected (the refused table is new in contract 1.1)."""
    total = rows(gateway, "SELECT count(*) FROM rejected")[0][0]
    try:
        return total + rows(gateway, "SELECT count(*) FROM refused")[0][0]
    except Exception:  # noqa: BLE001 - a store from before the refused table
        return total


def forged(county: TestCounty, kiosk: str, epoch: int, seqs: range | list[int]) -> bytes:
    """Lines at the kiosk's positions, signed by a key that is not the kiosk's."""
    thief = TestCounty(county_id=county.county_id)
    lines = []
    for seq in seqs:
        event = KioskChain(thief, kiosk=kiosk).next().event | {"epoch": epoch, "seq": seq}
        lines.append(jws.sign(orjson.dumps(event), thief.kiosk_key(kiosk), {"kid": f"{kiosk}/1"}))
    return "\n".join(lines).encode()


def test_replaced_sd_card_loses_no_answered_tap(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto,
                                               gateway: GatewayProcess) -> None:
    """State folder lost, bundle restored, taps continue: every answered tap is stored once."""
    kiosk = kiosk_online(county, tmp_path / "kiosk", mosquitto)
    with kiosk.running() as app:
        wait_until("the uplink", lambda: app.agent.online)
        before = tap(kiosk, county, 20)
        wait_until("the outbox to empty", lambda: app.journal.stats().pending == 0, 120)
        first_epoch = app.journal.epoch
    shutil.rmtree(tmp_path / "kiosk" / "state")  # the SD card is replaced; the bundle is copied back
    with kiosk.running() as app:
        wait_until("the uplink", lambda: app.agent.online)
        after = tap(kiosk, county, 40)
        wait_until("the new outbox to empty", lambda: app.journal.stats().pending == 0, 120)
        assert 0 == app.journal.stats().rejected
        second_epoch = app.journal.epoch
    ids = stored_ids(gateway, "k-test-1")
    assert sorted(before + after) == sorted(ids)
    assert first_epoch != second_epoch  # a fresh random epoch, not epoch 1 again
    assert [] == rows(gateway, "SELECT reason FROM rejected")
    assert [("fresh-start",)] == rows(gateway, "SELECT kind FROM alerts")


@contextmanager
def kiosk_b_and_a_thief(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto) -> Iterator[tuple]:
    """Kiosk k-b online with one tap stored (so the gateway listens), and a client that
    publishes with k-b's identity but has not its key (no ACL on this broker: the same)."""
    thief = TestClient(mosquitto.port)
    assert thief.wait_connected()
    kiosk = kiosk_online(county, tmp_path / "kiosk", mosquitto, kiosk="k-b")
    try:
        with kiosk.running() as app:
            wait_until("the uplink", lambda: app.agent.online)
            first = tap(kiosk, county, 1)
            wait_until("the first record settled", lambda: app.journal.stats().pending == 0)
            yield kiosk, app, thief, first
    finally:
        thief.close()


def test_certificate_without_the_key_cannot_take_positions(tmp_path: Path, county: TestCounty,
                                                           mosquitto: Mosquitto, gateway: GatewayProcess) -> None:
    """A client with k-b's identity but not its key publishes at k-b's next positions and at
    a stored one: k-b's genuine taps all end stored, none is moved to its rejected table."""
    with kiosk_b_and_a_thief(tmp_path, county, mosquitto) as (kiosk, app, thief, first):
        epoch = app.journal.epoch  # in every record k-b publishes: assume the thief knows it
        thief.publish("lc/v1/k-b/rec", forged(county, "k-b", epoch, [1]))  # at the stored position
        thief.publish("lc/v1/k-b/rec", forged(county, "k-b", epoch, range(2, 302)))  # at the next ones
        wait_until("the gateway to handle both", lambda: kept_apart(gateway) >= 300)
        later = tap(kiosk, county, 60)
        wait_until("k-b's outbox to empty", lambda: app.journal.stats().pending == 0, 120)
        assert 0 == app.journal.stats().rejected
        assert 301 == app.uplink.refused_total
        assert "refused" in app.agent.snapshot()["health"]["alarms"]
        app.uplink.publish_status()  # what county IT sees in `gateway kiosks`
        wait_until("the status at the gateway", lambda: "refused on its topic: 301" in subprocess.run(
            [sys.executable, "-m", "learncard", "gateway", "--config", str(gateway.config), "kiosks"],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=True).stdout)
    assert sorted(first + later) == sorted(stored_ids(gateway, "k-b"))
    assert [] == rows(gateway, "SELECT reason FROM rejected")
    listed = subprocess.run([sys.executable, "-m", "learncard", "gateway", "--config", str(gateway.config),
                             "refused", "list", "--json", "--limit", "1000"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    refused = json.loads(listed.stdout)
    assert 301 == len(refused) and {"k-b"} == {r["kiosk"] for r in refused}
    assert {"bad-signature"} == {r["reason"] for r in refused}


def test_kiosk_enrolled_while_the_gateway_runs(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto,
                                               gateway: GatewayProcess) -> None:
    """Records of a kiosk the registry does not name yet are held on the kiosk (status says
    so), and stored once county IT's new registry is in place; none is rejected."""
    kiosk = kiosk_online(county, tmp_path / "kiosk", mosquitto, kiosk="k-new")
    with kiosk.running() as app:
        wait_until("the uplink", lambda: app.agent.online)
        ids = tap(kiosk, county, 5)
        wait_until("the kiosk to hear it is not known yet",
                   lambda: "gateway-hold" in app.agent.snapshot()["health"]["alarms"])
        assert 5 == app.journal.stats().pending
        gateway.kiosks["k-new"] = "v-test"
        gateway.write_documents(version=2)  # `provision enroll` wrote a new registry: no signal sent
        wait_until("the held records to be stored", lambda: app.journal.stats().pending == 0, 120)
        assert "gateway-hold" not in app.agent.snapshot()["health"]["alarms"]
        assert 0 == app.journal.stats().rejected
    assert sorted(ids) == sorted(stored_ids(gateway, "k-new"))
    assert [] == rows(gateway, "SELECT reason FROM rejected")
    assert "loaded registry version 2" in (gateway.folder / "gateway.log").read_text()


@pytest.mark.parametrize("seq", [2**31, 2**40, 2**63 + 5])
def test_huge_seq_neither_crashes_nor_starts_a_resend_storm(tmp_path: Path, county: TestCounty, seq: int,
                                                            mosquitto: Mosquitto, gateway: GatewayProcess) -> None:
    """A line at seq 2³¹, 2⁴⁰ or 2⁶³+5 (signed with the kiosk's own key even) is refused: no
    rejected row, no resend command; the kiosk's taps go on being stored."""
    watcher = TestClient(mosquitto.port)
    assert watcher.wait_connected()
    watcher.subscribe("lc/v1/k-test-1/cmd/#")
    kiosk = kiosk_online(county, tmp_path / "kiosk", mosquitto)
    with kiosk.running() as app:
        wait_until("the uplink", lambda: app.agent.online)
        ids = tap(kiosk, county, 3)
        wait_until("settled", lambda: app.journal.stats().pending == 0)
        event = KioskChain(county).next().event | {"epoch": app.journal.epoch, "seq": seq}
        line = jws.sign(orjson.dumps(event), county.kiosk_key("k-test-1"), {"kid": "k-test-1/1"})
        watcher.publish("lc/v1/k-test-1/rec", line)
        wait_until("the gateway to handle it", lambda: kept_apart(gateway) >= 1
                   or gateway.proc is None or gateway.proc.poll() is not None)
        ids += tap(kiosk, county, 3)
        wait_until("settled again", lambda: app.journal.stats().pending == 0)
    assert gateway.proc is not None and gateway.proc.poll() is None
    assert sorted(ids) == sorted(stored_ids(gateway, "k-test-1"))
    assert ([], [("bad-position",)]) == (rows(gateway, "SELECT reason FROM rejected"),
                                          rows(gateway, "SELECT reason FROM refused"))
    assert watcher.messages.empty()  # no resend command at all
    watcher.close()


def test_gateway_reload_command_and_sighup_reread_the_registry(tmp_path: Path, county: TestCounty,
                                                               mosquitto: Mosquitto) -> None:
    """`learncard gateway reload` signals the running gateway (found through its instance lock),
    which logs what it loaded; with no gateway running the command says so."""
    gw = GatewayProcess(county, tmp_path / "gateway", mosquitto)
    gw.config.write_text(gw.config.read_text().replace("[gateway]\n", "[gateway]\ncounty_poll_seconds = 0\n", 1))
    gw.start()
    try:
        wait_until("the gateway to run", lambda: "connected to the broker" in (gw.folder / "gateway.log").read_text())
        gw.write_documents(version=2)
        subprocess.run([sys.executable, "-m", "learncard", "gateway", "--config", str(gw.config), "reload"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
        wait_until("the reload", lambda: "loaded registry version 2" in (gw.folder / "gateway.log").read_text())
        gw.write_documents(version=3)
        gw.reload()  # SIGHUP
        wait_until("the SIGHUP reload",
                   lambda: "loaded registry version 3" in (gw.folder / "gateway.log").read_text())
    finally:
        gw.kill()
    idle = subprocess.run([sys.executable, "-m", "learncard", "gateway", "--config", str(gw.config), "reload"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert 0 != idle.returncode and "no gateway is running" in idle.stderr


def test_forged_receipt_settles_nothing_and_moves_nothing(tmp_path: Path, county: TestCounty,
                                                          mosquitto: Mosquitto) -> None:
    """A receipt whose head is not the kiosk's record (here with no gateway at all) settles
    nothing, moves no record to the rejected table, and raises an alarm in the status."""
    forger = TestClient(mosquitto.port)
    assert forger.wait_connected()
    kiosk = kiosk_online(county, tmp_path / "kiosk", mosquitto, kiosk="k-b")
    with kiosk.running() as app:
        wait_until("the uplink", lambda: app.agent.online)
        tap(kiosk, county, 3)
        receipt = {"epoch": app.journal.epoch, "upto": 3, "head": "A" * 43, "missing": [],
                   "rejected": [{"seq": 2, "reason": "bad-signature"}], "time": "2026-11-23T09:02:00.123+08:00"}
        forger.publish("lc/v1/k-b/ack", json.dumps(receipt))
        wait_until("the alarm", lambda: "receipt-mismatch" in app.agent.snapshot()["health"]["alarms"])
        assert (3, 0) == (app.journal.stats().pending, app.journal.stats().rejected)
    forger.close()


def test_unknown_key_lines_from_a_thief_do_not_stall_the_kiosk(tmp_path: Path, county: TestCounty,
                                                              mosquitto: Mosquitto, gateway: GatewayProcess) -> None:
    """Lines naming a key version the registry does not have get `unknown-key` on k-b's ack
    topic: k-b shows it, but keeps sending, and its genuine receipts clear it."""
    with kiosk_b_and_a_thief(tmp_path, county, mosquitto) as (kiosk, app, thief, ids):
        event = KioskChain(county, kiosk="k-b").next().event | {"epoch": app.journal.epoch, "seq": 2}
        thief.publish("lc/v1/k-b/rec", jws.sign(orjson.dumps(event), county.kiosk_key("k-b"), {"kid": "k-b/9"}))
        wait_until("the hold", lambda: "gateway-hold" in app.agent.snapshot()["health"]["alarms"])
        ids += tap(kiosk, county, 5)
        wait_until("k-b's taps settled", lambda: app.journal.stats().pending == 0)
        assert "gateway-hold" not in app.agent.snapshot()["health"]["alarms"]
    assert sorted(ids) == sorted(stored_ids(gateway, "k-b"))


def test_gateway_notices_a_changed_registry_by_itself(tmp_path: Path, county: TestCounty,
                                                      gateway: GatewayProcess) -> None:
    """No signal, no record: a new registry file is loaded (and logged) within seconds."""
    log = gateway.folder / "gateway.log"
    wait_until("the gateway to start", lambda: "loaded registry version 1" in log.read_text())
    gateway.write_documents(version=2)
    wait_until("the new registry", lambda: "loaded registry version 2" in log.read_text())
