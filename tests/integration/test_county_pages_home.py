"""Issue 18, deliverable 2: the county home writes each paged document's signed pages with
it, the gateway takes only pages that verify and match the document in force, and the broker
configuration `provision broker-config` writes lets a kiosk read only its own venue's staff
page (and agrees with the pages on the message limit)."""

from __future__ import annotations

import os
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.county_files import CountyFiles
from provisioning import staff
from provisioning.home import CountyHome
from records import county, county_pages, keys, page_files
from records.county import MAX_PACKET
from tests.integration import test_provision
from tests.integration.test_broker_identity import enrol, generated_broker_config, run
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import TestClient

home = test_provision.home  # the county home fixture (`provision init` of county-3301)


class Subscriber(TestClient):
    """A test client that waits for each SUBACK and keeps its reason codes."""

    def __init__(self, port: int, **kwargs: Any) -> None:
        self.granted: dict[int, list[int]] = {}
        self._subacked = threading.Condition()
        super().__init__(port, **kwargs)
        self.client.on_subscribe = self._on_subscribe

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, codes: Any, props: Any = None) -> None:
        with self._subacked:
            self.granted[mid] = [c.value for c in codes]
            self._subacked.notify_all()

    def subscribe_code(self, topic: str) -> int:
        _, mid = self.client.subscribe(topic, 1)
        with self._subacked:
            assert self._subacked.wait_for(lambda: mid in self.granted, 10), f"no SUBACK for {topic}"
            return self.granted.pop(mid)[0]


def test_every_save_writes_signed_pages_and_an_old_home_gets_them_by_command(home: Path) -> None:
    h = CountyHome.open(home)
    assert {county_pages.COUNTY_PAGE} == set(page_files.read(h.pages_folder("staff"))[1])  # from init
    staff.add(h, "s-east", "staff", ["v-east"], "2580")
    staff.add(h, "s-west", "teacher", ["v-west", "v-east"], "2580")
    paged = h.load_pages("staff")
    assert paged is not None and 3 == paged.index.version == h.load_document("staff").version
    assert {"v-east", "v-west", county_pages.COUNTY_PAGE} == set(paged.pages)
    assert 1 == paged.pages[county_pages.COUNTY_PAGE].version  # unchanged since init: same page, same version
    # a home made before pages: none on disk; `provision pages` writes them at the version in force
    shutil.rmtree(h.pages_folder("staff"))
    assert "wrote the pages of staff" in run("provision", "--home", str(home), "pages")
    again = h.load_pages("staff")
    assert again is not None and 3 == again.index.version and set(paged.pages) == set(again.pages)
    assert "up to date" in run("provision", "--home", str(home), "pages")


def test_the_gateway_takes_only_pages_that_verify_and_match_the_document(home: Path, tmp_path: Path) -> None:
    h = CountyHome.open(home)
    staff.add(h, "s-east", "staff", ["v-east"], "2580")
    issuer = h.issuer_key().public_key()
    files = CountyFiles("county-3301", issuer, {"staff": home / "staff.jws"})
    assert ["staff"] == files.load(first=True)
    pages = files.pages("staff")
    assert pages is not None and 2 == pages.version and {"v-east", county_pages.COUNTY_PAGE} == set(pages.pages)
    # a forged page (another key) in the folder: the pages in force stay
    folder = h.pages_folder("staff")
    thief = county.sign_document("staff-page", "county-3301", 3, {"page": "v-east", "staff": []},
                                 keys.private_key_from_seed(os.urandom(32)), datetime.now(UTC))
    real = (folder / "v-east.jws").read_text()
    staff.add(h, "s-east-2", "staff", ["v-east"], "2580")  # version 3 written for real ...
    (folder / "v-east.jws").write_text(thief.token)  # ... then its page replaced by a forgery
    files.load()
    assert 2 == files.pages("staff").version  # refused whole; the staff document itself moved on
    assert 3 == files.document("staff").version
    # a page passed off as the whole document: refused, the document in force stays
    (home / "staff.jws").write_text(real)
    files.load()
    assert 3 == files.document("staff").version


def test_the_broker_lets_a_kiosk_read_only_its_own_venues_staff_page(home: Path, tmp_path: Path) -> None:
    h = CountyHome.open(home)
    a = enrol(home, tmp_path / "k-a", "k-a")  # venue v-chengguan
    staff.add(h, "s-here", "staff", ["v-chengguan"], "2580")
    staff.add(h, "s-there", "staff", ["v-other"], "2580")
    port, conf = generated_broker_config(home, tmp_path / "broker")
    assert f"max_packet_size {MAX_PACKET}\n" in conf  # the limit the pages are cut to, plus framing
    broker = Mosquitto(tmp_path / "broker", port=port).start(tmp_path / "broker" / "mosquitto.conf")
    tls = {"ca": home / "device-ca.pem"}
    clients: list[TestClient] = []
    try:
        gateway = TestClient(port, **tls, client_id="gateway", cert=home / "gateway" / "gateway.pem",
                             key=home / "gateway" / "gateway.key")
        kiosk = Subscriber(port, **tls, client_id="k-a", cert=a / "kiosk-cert.pem", key=a / "tls.key")
        clients += [gateway, kiosk]
        assert gateway.wait_connected() and kiosk.wait_connected()
        folder = h.pages_folder("staff")
        for venue in ("v-chengguan", "v-other", county_pages.COUNTY_PAGE):
            token = (folder / f"{venue}.jws").read_text().strip()
            assert gateway.publish(f"lc/v1/county/staff/{venue}", token, retain=True) < 128
        # Mosquitto 2.0 grants the subscription and checks the ACL on every delivery: the other
        # venue's retained page, asked for first, never comes — the broker answers subscriptions
        # in order on one connection, so the first page to arrive is the kiosk's own
        assert kiosk.subscribe_code("lc/v1/county/staff/v-other") < 128
        assert kiosk.subscribe_code("lc/v1/county/staff/v-chengguan") < 128
        got = kiosk.messages.get(timeout=10)
        assert "lc/v1/county/staff/v-chengguan" == got.topic
        page = county_pages.verify_page(got.payload, h.issuer_key().public_key(), "staff", "county-3301", "v-chengguan")
        assert ["s-here"] == [s["staff_id"] for s in page.body["staff"]]
        # and live: the other venue's page published first, then the kiosk's own
        for venue in ("v-other", "v-chengguan"):
            token = (folder / f"{venue}.jws").read_text().strip()
            assert gateway.publish(f"lc/v1/county/staff/{venue}", token) < 128
        assert "lc/v1/county/staff/v-chengguan" == kiosk.messages.get(timeout=10).topic
    finally:
        for c in clients:
            c.close()
        broker.kill()
