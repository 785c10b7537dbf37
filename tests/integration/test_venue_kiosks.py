"""Two kiosks of one venue, both online: a check-in at A and a tap at B make B's check-out of
A's check-in on the spot (the venue topic), credited by the rule; A no longer holds it open;
the gateway relays one statement for the pair."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.lrs import LrsClient
from gateway.xapi import statement_id
from records.ids import learner_code
from tests.support.county import TestCounty
from tests.support.lrs import Lrs
from tests.support.mosquitto import Mosquitto
from tests.support.venue import GatewayProcess, kiosk_online, wait_until


@pytest.fixture(scope="module")
def lrs() -> Lrs:
    server = Lrs().start()
    yield server
    server.stop()


def test_checkout_at_b_credits_the_checkin_at_a(tmp_path: Path, county: TestCounty, lrs: Lrs) -> None:
    broker = Mosquitto(tmp_path / "broker").start()
    gateway = GatewayProcess(county, tmp_path / "gateway", broker, kiosks={"k-a-1": "v-test", "k-b-1": "v-test"},
                             lrs_endpoint=lrs.endpoint).start()
    client = LrsClient(lrs.endpoint, "lc", "secret")
    a = kiosk_online(county, tmp_path / "a", broker, kiosk="k-a-1")
    b = kiosk_online(county, tmp_path / "b", broker, kiosk="k-b-1")
    resident = county.credential(learner=int(learner_code(int.from_bytes(os.urandom(5), "big") % 10**12)))
    try:
        with a.running() as app_a, b.running() as app_b:
            wait_until("the registry at both", lambda: min(app_a.agent.docs.version("registry"),
                                                            app_b.agent.docs.version("registry")) >= 1, 60)
            ca, cb = a.client(), b.client()
            came = ca.call("tap", text=county.qr(resident))
            assert "checkin" == came["outcome"]
            wait_until("B to see A's check-in", lambda: app_b.agent.share.find(resident.learner_code) is not None, 60)
            left = cb.call("tap", text=county.qr(resident))
            assert ("checkout", 0) == (left["outcome"], left["minutes_credited"])  # seconds apart: the rule gives 0
            wait_until("A to drop the open check-in",
                       lambda: app_a.agent.journal.state.open_checkin(resident.learner_code) is None, 60)
            rec = [r for r in (app_b.journal.conn.execute("SELECT token FROM records WHERE id = ?",
                                                          (left["record_id"],)).fetchall())]
            from records.record import parse_unverified

            data = parse_unverified(rec[0][0]).data
            assert (came["record_id"], "k-a-1") == (data["checkin_id"], data["checkin_kiosk"])
            again = ca.call("tap", text=county.qr(resident))  # back at A: a new check-in, not a second check-out
            assert "checkin" == again["outcome"]
            ca.close()
            cb.close()
        wait_until("the pair's statement at the LRS",
                   lambda: statement_id(left["record_id"]) in {s["id"] for s in client.get_all()}, 60)
        mine = [s for s in client.get_all() if s["actor"]["account"]["name"] == resident.learner_code]
        assert 1 == len(mine) and came["record_id"] != mine[0]["id"]
    finally:
        gateway.kill()
        broker.kill()


def test_b_cut_off_asks_records_an_unpaired_checkout_and_the_gateway_pairs_it(tmp_path: Path, county: TestCounty,
                                                                             lrs: Lrs) -> None:
    """B cannot reach the broker: it cannot know of A's check-in, so it asks the resident; "out"
    records an unpaired check-out ("已签退", no minutes). Back online, the gateway pairs it with A's
    check-in and the LRS gets one statement for the pair."""
    from records.record import parse_unverified
    from tests.support.kiosk import KioskSetup

    broker = Mosquitto(tmp_path / "broker").start()
    gateway = GatewayProcess(county, tmp_path / "gateway", broker, kiosks={"k-a-1": "v-test", "k-b-1": "v-test"},
                             lrs_endpoint=lrs.endpoint, signers={"county-corrections": "corrections"}).start()
    client = LrsClient(lrs.endpoint, "lc", "secret")
    a = kiosk_online(county, tmp_path / "a", broker, kiosk="k-a-1")
    b = KioskSetup(county, tmp_path / "b", kiosk_id="k-b-1")  # no uplink: cut off
    b.put_document(county.registry({"k-a-1": "v-test", "k-b-1": "v-test"}))
    b.set("rules", "debounce_seconds", 0)
    resident = county.credential(learner=int(learner_code(int.from_bytes(os.urandom(5), "big") % 10**12)))
    try:
        with a.running() as app_a:
            ca = a.client()
            came = ca.call("tap", text=county.qr(resident))
            ca.close()
            wait_until("A's check-in at the gateway", lambda: app_a.journal.stats().pending == 0, 60)
        with b.running():
            cb = b.client()
            asked = cb.call("tap", text=county.qr(resident))
            assert ("ask", ["in", "out"]) == (asked["outcome"], asked["choices"])
            left = cb.call("tap.answer", ask=asked["ask"], direction="out")
            cb.close()
        assert ("checkout", "已签退", None) == (left["outcome"], left["message"]["zh_CN"], left["minutes_credited"])
        b.values["uplink"] = {"host": "127.0.0.1", "port": broker.port, "resend_after_seconds": 3}
        b.write()
        with b.running() as app_b:
            wait_until("B's records at the gateway", lambda: app_b.journal.stats().pending == 0, 60)
        wait_until("the pair's statement at the LRS", lambda: any(
            s["actor"]["account"]["name"] == resident.learner_code for s in client.get_all()), 90)
        mine = [s for s in client.get_all() if s["actor"]["account"]["name"] == resident.learner_code]
        assert 1 == len(mine)
        ext = mine[0]["context"]["extensions"]
        assert (left["record_id"], 0) == (ext["https://w3id.org/learncard/xapi/ext/record-id"],
                                          ext["https://w3id.org/learncard/xapi/ext/minutes-credited"])
        assert came["record_id"] and mine[0]["timestamp"].startswith(
            parse_unverified(_token(gateway, came["record_id"])).event["time"][:16])
    finally:
        gateway.kill()
        broker.kill()


def _token(gateway: GatewayProcess, record_id: str) -> str:
    store = gateway.store()
    try:
        return str(store.query("SELECT token FROM records WHERE id = ?", (record_id,))[0][0])
    finally:
        store.close()
