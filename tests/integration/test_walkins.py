"""Walk-ins end to end: a slip made at kiosk A is a credential at kiosk B of another venue
(offline too, with the registry B keeps), forged and expired slips get their own reasons,
manual attendance takes the temporary id, a printer set in the configuration prints the slip,
and `learners link` leaves the LRS with every statement under the learner and none active
under the temporary id."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
from datetime import timedelta
from pathlib import Path

import pytest
import zxingcpp

from gateway.lrs import LrsClient
from records import keys, slip
from records.ids import learner_code
from tests.support.county import NOW, TestCounty
from tests.support.escpos_raster import raster_image
from tests.support.kiosk import STAFF_PIN, KioskSetup
from tests.support.lrs import Lrs
from tests.support.mosquitto import Mosquitto
from tests.support.venue import ROOT, GatewayProcess, kiosk_online, wait_until

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


@pytest.fixture(scope="module")
def lrs() -> Lrs:
    server = Lrs().start()
    yield server
    server.stop()


def roster(county: TestCounty, staff: dict[str, tuple[object, str]]):
    """One county roster: staff id → (staff card, venue); every PIN is STAFF_PIN."""
    from records import county as county_docs

    return county.staff_roster([{"staff_id": sid, "card": cred.card_id, "role": "staff", "venues": [venue],
                                 "pin_hash": county_docs.hash_pin(STAFF_PIN, cred.staff_secret or b"", os.urandom(16),
                                                                  n=2**10)}
                                for sid, (cred, venue) in staff.items()])


def login(c, county: TestCounty, staff_card) -> str:
    tap = c.call("tap", text=county.qr(staff_card))
    return c.call("staff.login", card_id=tap["card_id"], pin=STAFF_PIN)["token"]


def active_of(client: LrsClient, home: str, name: str) -> list[dict]:
    agent = urllib.parse.quote(f'{{"account":{{"homePage":"{home}","name":"{name}"}}}}')
    answer = client._send("GET", f"{client.statements_url}?agent={agent}")
    return [s for s in answer.body["statements"] if s["verb"]["id"] != VOIDED]


def test_slip_from_a_at_b_then_linked(tmp_path: Path, county: TestCounty, lrs: Lrs) -> None:
    broker = Mosquitto(tmp_path / "broker").start()
    gateway = GatewayProcess(county, tmp_path / "gateway", broker, kiosks={"k-a-1": "v-a", "k-b-1": "v-b"},
                             lrs_endpoint=lrs.endpoint)
    staff_a, staff_b = county.credential(staff=True, name="李*"), county.credential(staff=True, name="张*")
    staff = roster(county, {"s-000a": (staff_a, "v-a"), "s-000b": (staff_b, "v-b")})
    (tmp_path / "gateway" / "staff.jws").write_text(staff.token)  # the gateway checks staff ids in records
    gateway.start()
    client = LrsClient(lrs.endpoint, "lc", "secret")
    a = kiosk_online(county, tmp_path / "a", broker, kiosk="k-a-1")
    b = kiosk_online(county, tmp_path / "b", broker, kiosk="k-b-1")
    a.venue, b.venue = "v-a", "v-b"
    a.set("kiosk", "venue", "v-a")
    b.set("kiosk", "venue", "v-b")
    for kiosk in (a, b):
        kiosk.put_document(staff)
    try:
        with a.running():
            c = a.client()
            token = login(c, county, staff_a)
            walkin = c.call("walkin.enroll", token=token, consent=True)
            temp, text = walkin["learner"], walkin["qr_text"]
            assert text.startswith("LCT1:")
            came = c.call("tap", text=text)
            left = c.call("tap", text=text)
            assert ("checkin", "checkout", None) == (came["outcome"], left["outcome"], came["name"])
            c.close()
            wait_until("A's records at the gateway", lambda: gateway.count() >= 3, 60)
        with b.running() as app:
            wait_until("the registry at B", lambda: app.agent.docs.version("registry") >= 1, 60)
            c = b.client()
            came_b = c.call("tap", text=text)  # another venue's kiosk: the same result as a card
            left_b = c.call("tap", text=text)
            assert ("checkin", "checkout") == (came_b["outcome"], left_b["outcome"])
            assert came_b["learner_masked"].endswith(temp[-4:]) and came_b["name"] is None
            token = login(c, county, staff_b)
            choices = c.call("manual.choices", token=token)
            manual = c.call("attendance.manual", token=token, learner_code=temp,
                            reason=choices["reasons"][0]["id"], minutes=choices["minutes"][0])
            c.close()
            wait_until("B's records at the gateway", lambda: gateway.count() >= 6, 60)
        sent = {"enrollment": walkin["record_id"], "a": left["record_id"], "b": left_b["record_id"],
                "manual": manual["record_id"]}
        wait_until("four statements under the temporary id",
                   lambda: len(active_of(client, county.home_page, temp)) == 4, 60)
        code = learner_code(330_100_000_777)
        linked = subprocess.run([sys.executable, "-m", "learncard", "gateway", "--config", str(gateway.config),
                                 "learners", "link", temp, code], cwd=ROOT, capture_output=True, text=True,
                                timeout=60, check=False)
        assert 0 == linked.returncode, linked.stderr
        wait_until("every statement under the learner",
                   lambda: len(active_of(client, county.home_page, code)) == 4, 60)
        assert [] == active_of(client, county.home_page, temp)
        ids = {s["context"]["extensions"]["https://w3id.org/learncard/xapi/ext/record-id"]
               for s in active_of(client, county.home_page, code)}
        assert set(sent.values()) == ids
        store = gateway.store()
        try:
            manual_rec = [t for (t,) in store.query("SELECT token FROM records WHERE id = ?", (manual["record_id"],))]
            from records.record import parse_unverified

            assert (temp, True) == (parse_unverified(manual_rec[0]).data["learner"],
                                    parse_unverified(manual_rec[0]).data["temporary"])
        finally:
            store.close()
    finally:
        gateway.kill()
        broker.kill()


def made_slip(county: TestCounty, *, kid: str = "k-a-1/1", key=None, expires_in: timedelta = timedelta(days=90),
              county_id: str | None = None) -> str:
    issued = int(NOW.timestamp())
    made = slip.Slip(county_id or county.county_id, kid, "T000000000321", "v-a", issued,
                     int((NOW + expires_in).timestamp()))
    return slip.to_qr_text(slip.issue(made, key or county.kiosk_key(kid.partition("/")[0])))


class TestSlipsAtAKioskOffline:
    """Kiosk B holds the registry from an earlier connection and has no broker now."""

    @pytest.fixture
    def b(self, tmp_path: Path, county: TestCounty) -> KioskSetup:
        kiosk = KioskSetup(county, tmp_path / "b", kiosk_id="k-b-1")
        kiosk.put_document(county.registry({"k-a-1": "v-a", "k-b-1": "v-b"}))
        kiosk.set("rules", "debounce_seconds", 0)
        return kiosk

    def test_genuine_slip_checks_in_with_no_network(self, b: KioskSetup, county: TestCounty) -> None:
        with b.running():
            c = b.client()
            result = c.call("tap", text=made_slip(county, expires_in=timedelta(days=3650)))
            c.close()
        assert ("checkin", None) == (result["outcome"], result["name"])

    @pytest.mark.parametrize(("case", "reason"), [
        ("forged", "slip-forged"), ("expired", "slip-expired"), ("unknown", "slip-unknown-kiosk"),
        ("other-county", "slip-other-county"), ("old", "slip-unsigned"), ("signer", "slip-unknown-kiosk")])
    def test_refused_slips_have_their_own_reason(self, b: KioskSetup, county: TestCounty, case: str,
                                                 reason: str) -> None:
        text = {
            "forged": lambda: made_slip(county, expires_in=timedelta(days=3650),
                                        key=keys.private_key_from_seed(os.urandom(32))),
            "expired": lambda: made_slip(county, expires_in=timedelta(seconds=1)),
            "unknown": lambda: made_slip(county, kid="k-zz-9/1", expires_in=timedelta(days=3650)),
            "other-county": lambda: made_slip(county, county_id="county-elsewhere", expires_in=timedelta(days=3650)),
            "old": lambda: "LCT:T000000000321",
            "signer": lambda: made_slip(county, kid="county-corrections/1", expires_in=timedelta(days=3650)),
        }[case]()
        with b.running() as app:
            c = b.client()
            result = c.call("tap", text=text)
            c.close()
            rejected = app.journal.conn.execute(
                "SELECT count(*) FROM records WHERE type = 'tap.rejected'").fetchone()[0]
        assert ("rejected", reason) == (result["outcome"], result["reason"])
        assert 1 == rejected  # recorded, signed, as every refusal


def test_enrolment_prints_the_slip_on_the_configured_printer(tmp_path: Path, county: TestCounty) -> None:
    """[printer].device = file:…: the slip printed there decodes back to the signed slip."""
    kiosk = KioskSetup(county, tmp_path / "kiosk")
    staff_card = county.credential(staff=True, name="李*")
    kiosk.put_document(kiosk.staff_roster({"s-0001": staff_card}))
    out = tmp_path / "lp0"
    out.touch()
    kiosk.set("printer", "device", f"file:{out}")
    with kiosk.running():
        c = kiosk.client()
        token = login(c, county, staff_card)
        walkin = c.call("walkin.enroll", token=token, consent=True)
        c.close()
    assert (True, None) == (walkin["printed"], walkin["printer_problem"])
    found = zxingcpp.read_barcodes(raster_image(out.read_bytes()).convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    assert [walkin["qr_text"]] == [f.text for f in found]
