"""Issue 18, deliverable 2: county documents that scale. A county of 20,000 kiosks and
1,000,000 revoked cards: every document is far over the broker's message limit whole; its
signed pages go through a real Mosquitto with the limit `provision broker-config` writes,
the gateway is never disconnected, and a kiosk's real uplink ends holding every page of the
revocation list and the registry and only its own venue's staff and programme pages.

Before: the gateway published each document whole or (over the limit) not at all, so such a
county's kiosks got no revocations, no roster and no programme."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kiosk.county_docs import CountyDocuments
from kiosk.journal import Journal
from kiosk.uplink import Uplink
from learncard.mqtt import connect_persistent, mqtt_client
from records import county as documents
from records import county_pages, keys
from records.county import MAX_MESSAGE, MAX_PACKET
from tests.support.county import TestCounty
from tests.support.fleet import healthy, metric
from tests.support.mosquitto import Mosquitto
from tests.support.ports import free_port
from tests.support.venue import GatewayProcess, wait_until

KIOSKS, CARDS, PER_VENUE = 20_000, 1_000_000, 4


class Hooks:
    """The agent's side of the uplink, for county documents only."""

    def __init__(self, docs: CountyDocuments) -> None:
        self.docs = docs
        self.taken: dict[str, int] = {}

    def update_county_document(self, kind: str, token: str) -> bool:
        self.taken[kind] = self.taken.get(kind, 0) + 1
        return self.docs.update(kind, token)

    def county_pages_complete(self, kind: str) -> bool:
        return self.docs.complete(kind)

    def set_uplink_state(self, online: bool) -> None: ...
    def set_clock_from_gateway(self, gateway_time: str, rtt_s: float) -> None: ...
    def set_uplink_problem(self, problem: Any) -> None: ...
    def set_uplink_alarm(self, kind: str, detail: Any) -> None: ...
    def update_venue_peer(self, peer: str, payload: bytes) -> None: ...

    def venue_payload(self) -> bytes:
        return b"{}"


def kiosk_uplink(folder: Path, kiosk: str, venue: str, county: TestCounty, port: int) -> tuple[Uplink, Hooks]:
    folder.mkdir(parents=True, exist_ok=True)
    docs = CountyDocuments(folder, county.county_id, keys.public_key_from_text(county.issuer_public), venue=venue)
    hooks = Hooks(docs)
    uplink = Uplink(mqtt_client({}, kiosk), Journal.open(folder / "journal.sqlite3"), kiosk, hooks, dict, venue=venue)
    connect_persistent(uplink.client, "127.0.0.1", port)
    uplink.start()
    return uplink, hooks


def big_county(county: TestCounty) -> tuple[dict[str, str], list[documents.Document]]:
    venues = {f"k-p{i:05d}": f"v-p{i // PER_VENUE:04d}" for i in range(KIOSKS)}
    seeds = os.urandom(32)
    for i, k in enumerate(venues):  # fast keys: one seed stretched (a test county, not a real one)
        county.kiosk_keys[k] = keys.private_key_from_seed(seeds[:28] + i.to_bytes(4, "big"))
    revoked = [os.urandom(8).hex() for _ in range(CARDS)]
    sites = sorted(set(venues.values()))
    staff = [{"staff_id": f"s-{v}-{n}", "card": os.urandom(8).hex(), "role": "staff", "venues": [v],
              "pin_hash": "scrypt-card$32768$8$1$00$00"} for v in sites for n in range(2)]
    staff.append({"staff_id": "s-county", "card": "c0" * 8, "role": "staff", "venues": ["*"], "pin_hash": "x"})
    courses = [{"course_id": f"c-{v}", "venue": v, "title_zh": "智能手机入门", "title_en": "Phones",
                "category": "science-tech", "form": "workshop", "audience": "elderly", "staff_id": f"s-{v}-0",
                "capacity": 30, "registration": "none", "credit_rule": "standard",
                "times": [{"weekday": 2, "term_start": "2026-09-01", "term_end": "2027-01-15",
                           "start": "09:00", "end": "10:30"}]} for v in sites]
    docs = [county.registry(venues, version=2), county.revocations(revoked, version=2),
            county.staff_roster(staff, version=2),
            county.programme({"categories": [{"id": "science-tech", "zh": "科学技术", "en": "Science"}],
                              "session_defaults": {"grace_minutes": 15}, "courses": courses}, version=2)]
    return venues, docs


def test_a_county_of_20000_kiosks_and_a_million_revoked_cards_reaches_a_kiosk_in_pages(
        tmp_path: Path, county: TestCounty) -> None:
    venues, docs = big_county(county)
    assert all(len(d.token) > MAX_MESSAGE for d in docs)  # not one of them fits a message whole
    broker = Mosquitto(tmp_path / "broker", extra_conf=f"max_packet_size {MAX_PACKET}\n").start()
    gateway = GatewayProcess(county, tmp_path / "gateway", broker, kiosks={"k-p00000": "v-p0000"},
                             metrics_port=free_port())
    paged = {d.kind: gateway.put_paged(d) for d in docs}
    assert all(len(p.token) <= MAX_MESSAGE for pg in paged.values() for p in [pg.index, *pg.pages.values()])
    assert 3 == paged["revoked-cards"].digits  # 4,096 pages of about 15 KB
    kiosk, venue = "k-p07777", venues["k-p07777"]
    uplink = None
    try:
        gateway.start()
        wait_until("a healthy gateway", lambda: healthy(gateway.metrics_port), 120)
        uplink, hooks = kiosk_uplink(tmp_path / "kiosk", kiosk, venue, county, broker.port)
        held = hooks.docs
        wait_until("every revocation and registry page, and the venue's staff and programme",
                   lambda: held.complete("revoked-cards") and held.complete("registry")
                   and held.complete("staff") and held.complete("programme")
                   and venue in held._pages["staff"] and venue in held._pages["programme"], 240)
        assert {} == held.missing_pages()
        assert 2 == held.version("revoked-cards") and len(held.revoked_cards()) == CARDS
        assert docs[1].body["cards"][123_456]["card"] in held.revoked_cards()
        registry = held.registry()
        assert registry is not None and KIOSKS == len(registry.kiosks)
        assert registry.key_for("k-p19999/1") is not None  # a walk-in slip from the far end verifies
        # only its own venue's staff and programme pages (and the county page), nothing else
        assert {venue, county_pages.COUNTY_PAGE} == set(held._pages["staff"]) == set(held._pages["programme"])
        assert {f"s-{venue}-0", f"s-{venue}-1", "s-county"} == {s["staff_id"] for s in held._body("staff")["staff"]}
        assert [f"c-{venue}"] == [c["course_id"] for c in held.programme()["courses"]]
        assert held.programme()["categories"][0]["id"] == "science-tech"
        assert 2 == hooks.taken["staff-page"]  # its venue's page and the county page: no other was sent
        # the gateway was never dropped: connected, and the whole documents were held back
        assert 1 == metric(gateway.metrics_port, "learncard_gateway_broker_connected")
        assert 4 == metric(gateway.metrics_port, "learncard_gateway_county_document_too_large")
    finally:
        if uplink is not None:
            uplink.stop()
        gateway.kill()
        broker.kill()


def test_only_changed_pages_travel_again_after_a_reload_or_a_kiosk_reconnection(
        tmp_path: Path, county: TestCounty) -> None:
    """A new revocation changes one page: the gateway publishes that page and the index; a
    kiosk that reconnects to its persistent session (MQTT 5 retain handling 1 for the kinds it
    holds complete) is sent that page only — not the thousands it holds already — and a
    gateway that restarts publishes no page the broker holds already."""
    broker = Mosquitto(tmp_path / "broker", extra_conf=f"max_packet_size {MAX_PACKET}\n").start()
    gateway = GatewayProcess(county, tmp_path / "gateway", broker, kiosks={"k-a": "v-a"}, metrics_port=free_port())
    cards = [os.urandom(8).hex() for _ in range(20_000)]
    first = gateway.put_paged(county.revocations(cards, version=2))
    assert len(first.pages) == 16  # about 1 MB whole: 16 pages
    uplink = None
    try:
        gateway.start()
        wait_until("a healthy gateway", lambda: healthy(gateway.metrics_port), 120)
        uplink, hooks = kiosk_uplink(tmp_path / "kiosk", "k-a", "v-a", county, broker.port)
        wait_until("every page", lambda: hooks.docs.complete("revoked-cards"), 60)
        assert 16 == hooks.taken["revoked-cards-page"]
        uplink.stop()  # the kiosk goes away; its session and subscriptions stay at the broker
        uplink, hooks = kiosk_uplink(tmp_path / "kiosk", "k-a", "v-a", county, broker.port)
        assert hooks.docs.complete("revoked-cards")  # from its state folder
        gateway.kill()  # a gateway restart reads the retained indexes: it publishes no page again
        gateway.start()
        wait_until("a healthy gateway again", lambda: healthy(gateway.metrics_port), 120)
        stolen = "5701e2" + "0" * 10
        second = gateway.put_paged(county.revocations([*cards, stolen], version=3), first)
        gateway.reload()
        wait_until("the new revocation and index", lambda: stolen in hooks.docs.revoked_cards()
                   and 3 == hooks.docs.version("revoked-cards"), 60)
        assert [county_pages.bucket(stolen, 1)] == [k for k, p in second.pages.items() if p.version == 3]
        assert 1 == hooks.taken["revoked-cards-page"]  # the changed page only: no retained copies again
        assert 3 == hooks.docs.version("revoked-cards") and {} == hooks.docs.missing_pages()
    finally:
        if uplink is not None:
            uplink.stop()
        gateway.kill()
        broker.kill()


def test_a_broker_that_never_returns_the_gateways_marker_still_gets_every_page(
        tmp_path: Path, county: TestCounty) -> None:
    """A broker whose ACL predates pages (the gateway may not read lc/v1/county/index/#): the
    gateway cannot learn what the broker holds, waits PAGES_SYNC_WAIT for its own marker and
    then publishes every page, with a warning that says what to do."""
    acl = tmp_path / "acl"
    acl.write_text("".join(f"topic {line}\n" for line in (
        "write #", "read lc/v1/+/rec", "read lc/v1/+/status", "read lc/v1/+/ack", "read lc/v1/+/cmd/#",
        "read lc/v1/county/+", "read lc/v1/county/revoked-cards/+", "read lc/v1/county/index/revoked-cards",
        "read lc/v1/county/index/registry", "read lc/v1/venue/#")))  # not lc/v1/county/index/_sync
    broker = Mosquitto(tmp_path / "broker", extra_conf=f"max_packet_size {MAX_PACKET}\nacl_file {acl}\n").start()
    gateway = GatewayProcess(county, tmp_path / "gateway", broker, kiosks={"k-a": "v-a"}, metrics_port=free_port())
    gateway.put_paged(county.revocations([os.urandom(8).hex() for _ in range(5_000)], version=2))
    uplink = None
    try:
        gateway.start()
        uplink, hooks = kiosk_uplink(tmp_path / "kiosk", "k-a", "v-a", county, broker.port)
        wait_until("every page", lambda: hooks.docs.complete("revoked-cards"), 90)
        assert "publishing every page" in (tmp_path / "gateway" / "gateway.log").read_text()
    finally:
        if uplink is not None:
            uplink.stop()
        gateway.kill()
        broker.kill()
