"""Anti-clone cards end to end: the kiosk agent reads an NTAG 424 DNA through nfcpy's Type 4
code and the simulated field (the chip mirrors a fresh SUN message on every read), records the
SUN message in the check-in; the gateway's ingest verifies it with the county's keys, passes
the genuine taps and flags a cloned card — an NTAG216 holding a copy of one read's NDEF (its
counter replayed), a chip made with another key, a credential moved to another chip — with an
alert. The card is created personalised (keys diversified from the county master key, SDM
offsets at the SUN record): personalising it through the reader is not simulated."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.county_files import CountyFiles
from gateway.ingest import Ingest
from gateway.store import Store
from gateway.sun_check import CLONED, SunCheck
from records import sun
from records.record import parse_unverified
from tests.support.county import TestCounty
from tests.support.gateway import NOW
from tests.support.kiosk import KioskSetup
from tests.support.nfc_field import NfcField
from tests.support.ntag21x import memory_image
from tests.support.ntag424 import personalised
from tests.support.venue import wait_until

MASTER = bytes.fromhex("8f1c2a7e5b3d9046e1f2a3b4c5d6e7f8")
UID = bytes.fromhex("04a1b2c3d4e5f6")


def sun_message(county: str, counter: int, master: bytes = MASTER) -> sun.Sun:
    e = sun.encrypt_picc(sun.meta_read_key(master, county), UID, counter, os.urandom(5))
    c = sun.sdm_mac(sun.file_read_key(master, county, UID), UID, counter)
    return sun.Sun.parse(e.hex(), c.hex())


def gateway(tmp_path: Path, county: TestCounty) -> Ingest:
    reg = county.registry({"k-test-1": "v-test"})
    (tmp_path / "registry.jws").write_text(reg.token)
    files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": tmp_path / "registry.jws"})
    files.load(first=True)
    return Ingest(Store.open(f"sqlite:///{tmp_path / 'gw.sqlite3'}"), files, lambda: NOW,
                  SunCheck(MASTER, county.county_id))


def test_genuine_taps_pass_and_a_copied_ndef_is_flagged(tmp_path: Path, county: TestCounty) -> None:
    credential = county.card_bytes(county.credential())
    chip = personalised(credential, UID, MASTER, county.county_id)
    kiosk = KioskSetup(county, tmp_path / "kiosk")
    kiosk.set("readers", "enabled", ["nfc"])
    kiosk.set("rules", "debounce_seconds", 0)
    outcomes = []
    with NfcField() as field:
        kiosk.set("readers", "nfc_device", field.device)
        with kiosk.running() as app:
            screen = kiosk.client()
            wait_until("the reader", lambda: app.agent.readers.get("nfc", {}).get("state") == "ready", 10)

            def tap(present) -> bytes:
                present()
                outcomes.append(screen.next_event("tap.result")["result"])
                if chip.sdm is not None and field.counter() is not None:
                    chip.sdm.counter = field.counter()  # the card keeps its counter between taps
                served = field.served()
                field.remove()
                return served

            first_read = tap(lambda: field.present_type4(chip))  # check-in, counter 1
            tap(lambda: field.present_type4(chip))  # check-out, counter 2 (a check-out records no SUN)
            tap(lambda: field.present_type4(chip))  # check-in, counter 3
            tap(lambda: field.present_type4(chip))  # check-out, counter 4
            copy = first_read[2:2 + int.from_bytes(first_read[:2], "big")]
            tap(lambda: field.present(memory_image("NTAG216", copy), "NTAG216"))  # the clone: counter 1 again
            screen.close()
            tokens = [r[0] for r in app.journal.conn.execute("SELECT token FROM records ORDER BY seq")]
    assert ["checkin", "checkout", "checkin", "checkout", "checkin"] == [o["outcome"] for o in outcomes], outcomes
    checkins = [r for r in (parse_unverified(t) for t in tokens) if r.type == "attendance.checkin"]
    assert [1, 3, 1] == [sun.verify(sun.Sun(**r.data["sun"]), MASTER, county.county_id).counter for r in checkins]
    ingest = gateway(tmp_path, county)
    assert len(tokens) == ingest.handle("k-test-1", "\n".join(tokens).encode()).stored
    flags = dict(ingest.store.query("SELECT id, flags FROM records"))
    assert [False, False, True] == [CLONED in flags[r.id] for r in checkins]
    alerts = ingest.store.query("SELECT kind, detail FROM alerts")
    assert [(CLONED, True)] == [(kind, checkins[2].id in detail) for kind, detail in alerts]
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


def test_cards_write_sun_personalises_a_factory_card(tmp_path: Path) -> None:
    """`provision cards write --sun` on a factory NTAG 424 DNA (all keys zero) through nfcpy's
    Type 4 code: NDEF written, SDM switched on, keys 1, 2 and 0 changed with EV2 secure
    messaging; the card then shows a SUN message the gateway accepts, cannot be written or
    personalised again, and its keys are the county's diversified ones."""
    import json

    from click.testing import CliRunner

    from learncard.main import cli
    from provisioning import ntag424 as pcd
    from records import card as cards
    from tests.support.ntag424 import plain

    home = tmp_path / "county"
    run = CliRunner()
    assert 0 == run.invoke(cli, ["provision", "--home", str(home), "init", "--county", "county-3301",
                                 "--home-page", "https://learn.example"]).exit_code
    issued = json.loads(run.invoke(cli, ["provision", "--home", str(home), "cards", "issue", "--json"]).output)[0]
    factory = plain(uid=UID)
    with NfcField() as field:
        field.present_type4(factory)
        result = run.invoke(cli, ["provision", "--home", str(home), "cards", "write", issued["card"], "--sun",
                                  "--device", field.device, "--timeout", "10"])
        assert 0 == result.exit_code, (result.output, result.exception)
        assert "personalised (SUN) and verified" in result.output
        chip = field.type4()
        again = run.invoke(cli, ["provision", "--home", str(home), "cards", "write", issued["card"], "--sun",
                                 "--device", field.device, "--timeout", "10"])
        assert 0 != again.exit_code and "already personalised" in str(again.exception)
    master = bytes.fromhex((home / "keys" / "sun-master.hex").read_text().strip())
    assert 0o600 == (home / "keys" / "sun-master.hex").stat().st_mode & 0o777
    assert ([pcd.app_key(master, "county-3301", UID), sun.file_read_key(master, "county-3301", UID),
             sun.meta_read_key(master, "county-3301")], False) == (chip.keys[:3], chip.writable)
    message = bytes(chip.ndef_file[2:2 + int.from_bytes(chip.ndef_file[:2], "big")])
    assert Path(issued["credential"]).read_bytes() == cards.from_ndef(message)
    with NfcField() as field:  # tapped at a kiosk's reader: a fresh SUN message each time
        field.present_type4(chip)
        import nfc

        with nfc.ContactlessFrontend(field.device) as clf:
            seen = []
            for _ in range(2):
                clf.connect(rdwr={"targets": ["106A"],
                                  "on-connect": lambda tag: seen.append(sun.find_in_ndef(bytes(tag.ndef.octets)))})
    taps = [sun.verify(found, master, "county-3301") for found in seen]
    assert [2, 3] == [t.counter for t in taps]  # the writer's read-back was the first
