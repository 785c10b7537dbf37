"""NTAG213/215/216 cards through nfcpy's own Type 2 code: nfcpy's ``udp`` device, ``sense_tta``,
``nfc.tag.tt2_nxp`` (GET_VERSION picks the product) and NDEF parsing, against a simulated chip
in a field process (``tests/support/nfc_field.py``). The kiosk's reader, its agent and
``provision cards write`` are the real ones."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import ndef as ndeflib
import nfc
import pytest
from click.testing import CliRunner

from kiosk.reader.base import CardRead
from kiosk.reader.nfc import NfcReader
from learncard.main import cli
from provisioning.tagwriter import TagError, write_credential
from records import card
from tests.support.county import TestCounty
from tests.support.kiosk import KioskSetup
from tests.support.nfc_field import NfcField
from tests.support.ntag21x import MODELS, memory_image
from tests.support.venue import wait_until

PASSWORD = bytes.fromhex("a1b2c3d4") + bytes.fromhex("5a5a")  # PWD, then PACK


@pytest.fixture
def field() -> Iterator[NfcField]:
    with NfcField() as f:
        yield f


def read_once(field: NfcField, wait: float = 10) -> CardRead:
    reads: queue.Queue[CardRead] = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(target=NfcReader(field.device).run, args=(reads.put, lambda *a: None, stop), daemon=True)
    thread.start()
    try:
        return reads.get(timeout=wait)
    finally:
        stop.set()
        thread.join(timeout=10)


def nfcpy_tag(field: NfcField, action) -> object:
    """Run ``action(tag)`` on the card in the field with plain nfcpy (no project code)."""
    out: list[object] = []
    with nfc.ContactlessFrontend(field.device) as clf:
        started = time.monotonic()
        clf.connect(rdwr={"targets": ["106A"], "on-connect": lambda tag: out.append(action(tag)) and False},
                    terminate=lambda: bool(out) or time.monotonic() - started > 10)
    assert out, "nfcpy found no card"
    return out[0]


class TestReading:
    @pytest.mark.parametrize("model", sorted(MODELS))
    def test_credential_is_read_once_while_the_card_stays(self, model: str, field: NfcField,
                                                           county: TestCounty) -> None:
        data = county.card_bytes(county.credential())
        field.present(memory_image(model, card.to_ndef(data)), model)
        assert f"NXP {model}" == nfcpy_tag(field, lambda tag: tag.product)  # GET_VERSION answered as the chip
        reads: queue.Queue[CardRead] = queue.Queue()
        stop = threading.Event()
        thread = threading.Thread(target=NfcReader(field.device).run, args=(reads.put, lambda *a: None, stop),
                                  daemon=True)
        thread.start()
        try:
            read = reads.get(timeout=10)
            assert (data, False) == (card.from_ndef(read.ndef), read.torn)
            time.sleep(1.0)  # the card stays on the reader: nfcpy checks it is there, no second read
            assert reads.empty(), "a card left on the reader was read twice"
            field.remove()
            field.present(memory_image(model, card.to_ndef(data)), model)  # taken away and tapped again
            assert data == card.from_ndef(reads.get(timeout=10).ndef)
        finally:
            stop.set()
            thread.join(timeout=10)

    def test_password_protected_card_reads_as_no_learning_card(self, field: NfcField) -> None:
        """A card whose pages from 4 on need PWD_AUTH to be read: the kiosk has no password."""
        message = b"".join(ndeflib.message_encoder([ndeflib.TextRecord("secret")]))
        field.present(memory_image("NTAG213", message, password=PASSWORD, read_protect=True))
        read = read_once(field)
        assert (b"", False) == (read.ndef, read.torn)
        with pytest.raises(Exception) as err:
            card.from_ndef(read.ndef)
        assert "no-ndef" == err.value.reason
        # nfcpy with the password reads it: the chip's PWD_AUTH and PACK are as nfcpy expects
        assert message == nfcpy_tag(field, lambda tag: tag.authenticate(PASSWORD) and bytes(tag.ndef.octets))

    def test_card_pulled_away_mid_read_is_torn_not_blank(self, field: NfcField, county: TestCounty) -> None:
        """The chip answers activation and a few READs, then leaves: the reader says so (the
        agent answers "tap again"), instead of calling it a card without data."""
        message = card.to_ndef(county.card_bytes(county.credential()))
        field.present(memory_image("NTAG215", message), "NTAG215", vanish_after=4)
        read = read_once(field)
        assert (b"", True) == (read.ndef, read.torn)


def test_agent_checks_in_ntag_cards_and_refuses_others(tmp_path: Path, county: TestCounty, field: NfcField,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """The kiosk agent with its NFC reader on the simulated field: an NTAG213 credential checks
    in; a foreign NDEF, a blank (unformatted) chip, a password-protected card and a card pulled
    away mid-read are each refused with their reason, and only what was read whole is recorded
    as the card said."""
    caplog.set_level(logging.DEBUG, logger="nfc")
    kiosk = KioskSetup(county, tmp_path / "kiosk")
    kiosk.set("readers", "enabled", ["nfc"])
    kiosk.set("readers", "nfc_device", field.device)
    kiosk.set("rules", "debounce_seconds", 0)
    foreign = b"".join(ndeflib.message_encoder([ndeflib.UriRecord("https://example.org")]))
    cards = [
        (memory_image("NTAG213", card.to_ndef(county.card_bytes(county.credential()))), None, ("checkin", None)),
        (memory_image("NTAG216", foreign), None, ("rejected", "foreign-ndef")),
        (memory_image("NTAG213", formatted=False), None, ("rejected", "no-ndef")),
        (memory_image("NTAG213", foreign, password=PASSWORD, read_protect=True), None, ("rejected", "no-ndef")),
        (memory_image("NTAG213", card.to_ndef(county.card_bytes(county.credential()))), 5, ("rejected", "truncated")),
    ]
    with kiosk.running() as app:
        screen = kiosk.client()
        wait_until("the reader", lambda: app.agent.readers.get("nfc", {}).get("state") == "ready", 10)
        for memory, vanish_after, (outcome, reason) in cards:
            model = {len(memory_image(m)): m for m in MODELS}[len(memory)]
            field.present(memory, model, vanish_after=vanish_after)
            result = screen.next_event("tap.result")["result"]
            field.remove()
            assert (outcome, reason) == (result["outcome"], result.get("reason")), result
        screen.close()
        types = [r[0] for r in app.journal.conn.execute("SELECT type FROM records ORDER BY seq")]
        assert ["attendance.checkin"] + ["tap.rejected"] * 4 == types


class TestWriting:
    def test_write_then_the_kiosk_reads_it(self, field: NfcField, county: TestCounty) -> None:
        data = county.card_bytes(county.credential())
        field.present(memory_image("NTAG213", b""))  # a new card as NXP ships it: CC and an empty NDEF TLV
        written = write_credential(field.device, data, timeout=10)
        assert ("Type2Tag", len(card.to_ndef(data)), 142) == (written.tag_type, written.bytes_written,
                                                              written.capacity)
        memory = field.memory()
        field.remove()
        field.present(memory)
        assert data == card.from_ndef(read_once(field).ndef)

    def test_write_protected_card_is_refused_untouched(self, field: NfcField, county: TestCounty) -> None:
        before = memory_image("NTAG213", b"", password=PASSWORD)
        field.present(before)
        with pytest.raises(TagError, match="read-only"):
            write_credential(field.device, county.card_bytes(county.credential()), timeout=10)
        assert before == field.memory()

    def test_unformatted_card_is_refused(self, field: NfcField, county: TestCounty) -> None:
        field.present(memory_image("NTAG213", formatted=False))
        with pytest.raises(TagError, match="not NDEF formatted"):
            write_credential(field.device, county.card_bytes(county.credential()), timeout=10)

    def test_cards_write_lock(self, tmp_path: Path, field: NfcField) -> None:
        """``provision cards write --lock``: written, verified, then locked for good — lock
        bytes, CC read-only, dynamic lock bytes and CFGLCK set on the chip; writing it again
        is refused."""
        home = tmp_path / "county"
        run = CliRunner()
        assert 0 == run.invoke(cli, ["provision", "--home", str(home), "init", "--county", "county-3301",
                                     "--home-page", "https://learn.example"]).exit_code
        issued = json.loads(run.invoke(cli, ["provision", "--home", str(home), "cards", "issue", "--json"]).output)[0]
        field.present(memory_image("NTAG213", b""))
        result = run.invoke(cli, ["provision", "--home", str(home), "cards", "write", issued["card"],
                                  "--device", field.device, "--timeout", "10", "--lock"])
        assert 0 == result.exit_code, result.output
        assert "locked and verified" in result.output
        memory = field.memory()
        cfg = MODELS["NTAG213"].cfg
        assert (b"\xff\xff", 0x0F, b"\xff\xff\xff", 0x40) == (memory[10:12], memory[15],
                                                               memory[(cfg - 1) * 4:(cfg - 1) * 4 + 3],
                                                               memory[(cfg + 1) * 4] & 0x40)
        credential = Path(issued["credential"]).read_bytes()
        assert credential == card.from_ndef(nfcpy_tag(field, lambda tag: bytes(tag.ndef.octets)))
        with pytest.raises(TagError, match="read-only"):
            write_credential(field.device, credential, timeout=10)
        assert memory == field.memory()
