"""Anti-clone cards end to end: the kiosk agent reads a card whose NDEF carries the credential
and a SUN message (through nfcpy and the simulated field), records the SUN message in the
check-in; the gateway's ingest verifies it with the county's keys and flags a cloned card —
the same SUN message seen twice (a copied NDEF), a MAC that fails — with an alert.

The simulated field holds an NTAG216 with the NDEF as an NTAG 424 DNA would have mirrored it
on that read (the SUN values computed with the county's diversified keys, as the chip would):
nfcpy's Type 4 path and the chip's own SUN computation are not simulated here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.county_files import CountyFiles
from gateway.ingest import Ingest
from gateway.store import Store
from gateway.sun_check import CLONED, SunCheck
from records import card, sun
from records.record import parse_unverified
from tests.support.county import TestCounty
from tests.support.gateway import NOW
from tests.support.kiosk import KioskSetup
from tests.support.ntag21x import memory_image
from tests.support.type2_field import Type2Field
from tests.support.venue import wait_until

MASTER = bytes.fromhex("8f1c2a7e5b3d9046e1f2a3b4c5d6e7f8")
UID = bytes.fromhex("04a1b2c3d4e5f6")


def sun_message(county: str, counter: int, master: bytes = MASTER) -> sun.Sun:
    e = sun.encrypt_picc(sun.meta_read_key(master, county), UID, counter, os.urandom(5))
    c = sun.sdm_mac(sun.file_read_key(master, county, UID), UID, counter)
    return sun.Sun.parse(e.hex(), c.hex())


def card_ndef(credential: bytes, message: sun.Sun) -> bytes:
    first = bytearray(card.to_ndef(credential))
    first[0] &= ~0x40 & 0xFF  # not the last record any more
    return bytes(first) + sun.sun_record(message)


def gateway(tmp_path: Path, county: TestCounty) -> Ingest:
    reg = county.registry({"k-test-1": "v-test"})
    (tmp_path / "registry.jws").write_text(reg.token)
    files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": tmp_path / "registry.jws"})
    files.load(first=True)
    return Ingest(Store.open(f"sqlite:///{tmp_path / 'gw.sqlite3'}"), files, lambda: NOW,
                  SunCheck(MASTER, county.county_id))


def test_kiosk_records_the_sun_and_the_gateway_flags_a_replay(tmp_path: Path, county: TestCounty) -> None:
    credential = county.card_bytes(county.credential())
    kiosk = KioskSetup(county, tmp_path / "kiosk")
    kiosk.set("readers", "enabled", ["nfc"])
    kiosk.set("rules", "debounce_seconds", 0)
    genuine = card_ndef(credential, sun_message(county.county_id, 5))
    taps = [genuine,  # check-in, counter 5
            card_ndef(credential, sun_message(county.county_id, 6)),  # check-out (no SUN recorded)
            genuine]  # check-in again with the NDEF copied from the first read: counter 5 replayed
    with Type2Field() as field:
        kiosk.set("readers", "nfc_device", field.device)
        with kiosk.running() as app:
            screen = kiosk.client()
            wait_until("the reader", lambda: app.agent.readers.get("nfc", {}).get("state") == "ready", 10)
            for ndef in taps:
                field.present(memory_image("NTAG216", ndef), "NTAG216")
                assert screen.next_event("tap.result")["result"]["outcome"] in ("checkin", "checkout")
                field.remove()
            screen.close()
            tokens = [r[0] for r in app.journal.conn.execute("SELECT token FROM records ORDER BY seq")]
    records = [parse_unverified(t) for t in tokens]
    checkins = [r for r in records if r.type == "attendance.checkin"]
    assert 2 == len(checkins)
    assert checkins[0].data["sun"] == checkins[1].data["sun"] == {"e": sun.find_in_ndef(genuine).e,
                                                                  "c": sun.find_in_ndef(genuine).c}
    ingest = gateway(tmp_path, county)
    out = ingest.handle("k-test-1", "\n".join(tokens).encode())
    assert len(tokens) == out.stored
    flags = dict(ingest.store.query("SELECT id, flags FROM records"))
    assert CLONED not in flags[checkins[0].id]
    assert CLONED in flags[checkins[1].id]
    alerts = ingest.store.query("SELECT kind, detail FROM alerts")
    assert [(CLONED, True)] == [(kind, checkins[1].id in detail) for kind, detail in alerts]
    assert not any(UID.hex() in detail.lower() for _, detail in alerts)  # the chip's UID never shows


@pytest.mark.parametrize("why", ["wrong key", "another chip"])
def test_a_sun_the_county_did_not_make_is_flagged(tmp_path: Path, county: TestCounty, why: str) -> None:
    """A chip personalised with another key; a genuine card's credential copied onto another
    county chip (its SUN is valid, but for another chip than the one the card was seen on)."""
    from tests.support.gateway import KioskChain

    k = KioskChain(county)
    card_id = os.urandom(8).hex()
    first = sun_message(county.county_id, 3)
    if why == "wrong key":
        second = sun_message(county.county_id, 4, master=bytes(16))
    else:
        other = bytes.fromhex("04ffeeddccbbaa")
        e = sun.encrypt_picc(sun.meta_read_key(MASTER, county.county_id), other, 9, os.urandom(5))
        c = sun.sdm_mac(sun.file_read_key(MASTER, county.county_id, other), other, 9)
        second = sun.Sun.parse(e.hex(), c.hex())
    recs = [k.next("attendance.checkin", checkin_data(card_id, first)),
            k.next("attendance.checkin", checkin_data(card_id, second))]
    ingest = gateway(tmp_path, county)
    assert 2 == ingest.handle("k-test-1", "\n".join(r.token for r in recs).encode()).stored
    flags = dict(ingest.store.query("SELECT id, flags FROM records"))
    assert (False, True) == (CLONED in flags[recs[0].id], CLONED in flags[recs[1].id])


def checkin_data(card_id: str, message: sun.Sun) -> dict:
    return {"learner": "3301000000017", "card": card_id, "session_id": None, "how": "nfc", "groups": [],
            "sun": {"e": message.e, "c": message.c}}
