"""The NFC reader through the real nfcpy stack and its simulated udp device (Type 3 tags,
nfcpy's own emulation); Type 2 and Type 4 cards are in test_reader_type2.py and
test_reader_type4.py."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from types import SimpleNamespace

import ndef as ndeflib
import pytest

from kiosk.reader.nfc import NfcReader, ndef_of
from records import card
from records.errors import MalformedCredential
from tests.support.county import TestCounty
from tests.support.devices import Running
from tests.support.kiosk import KioskSetup
from tests.support.nfc_tag import EmulatedTag
from tests.support.venue import wait_until


def test_reads_an_issued_credential_once_while_the_card_stays(county: TestCounty) -> None:
    data = county.card_bytes(county.credential())
    tag = EmulatedTag(card.to_ndef(data)).present()
    try:
        with Running(NfcReader(tag.device)) as r:
            read = r.reads.get(timeout=10)
            assert ("nfc", data) == (read.how, card.from_ndef(read.ndef))
            time.sleep(1.5)  # the card stays on the reader
            assert r.reads.empty(), "a card left on the reader was read twice"
            assert 1 == tag.connections
    finally:
        tag.remove()


@pytest.mark.parametrize(("message", "length", "reason"), [
    (b"", None, "no-ndef"),
    (b"".join(ndeflib.message_encoder([ndeflib.UriRecord("https://example.org")])), None, "foreign-ndef"),
])
def test_tags_without_a_credential(message: bytes, length: int | None, reason: str) -> None:
    tag = EmulatedTag(message, length=length).present()
    try:
        with Running(NfcReader(tag.device)) as r:
            read = r.reads.get(timeout=10)
        with pytest.raises(MalformedCredential) as err:
            card.from_ndef(read.ndef)
        assert reason == err.value.reason
    finally:
        tag.remove()


def test_truncated_credential(county: TestCounty) -> None:
    message = card.to_ndef(county.card_bytes(county.credential()))
    tag = EmulatedTag(message[:60]).present()  # the NDEF header says more than there is
    try:
        with Running(NfcReader(tag.device)) as r:
            read = r.reads.get(timeout=10)
        with pytest.raises(MalformedCredential) as err:
            card.from_ndef(read.ndef)
        assert "truncated" == err.value.reason
    finally:
        tag.remove()


def test_agent_records_a_check_in_and_rejections(tmp_path: Path, county: TestCounty,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """The kiosk agent with its NFC reader: a real card checks in; a foreign tag is refused.
    (nfcpy's exchanges are logged at debug level for a failure's report.)"""
    caplog.set_level(logging.DEBUG, logger="nfc")
    good = EmulatedTag(card.to_ndef(county.card_bytes(county.credential())))
    kiosk = KioskSetup(county, tmp_path / "kiosk")
    kiosk.set("readers", "enabled", ["simulated", "nfc"])  # several readers at once
    kiosk.set("readers", "nfc_device", good.device)
    with kiosk.running() as app:
        screen = kiosk.client()
        wait_until("the reader", lambda: app.agent.readers.get("nfc", {}).get("state") == "ready", 10)
        assert {"simulated", "nfc"} == set(screen.call("state")["health"]["readers"])
        good.present()
        result = screen.next_event("tap.result")["result"]
        good.remove()
        assert ("checkin", "王*明") == (result["outcome"], result["name"]), result
        foreign = EmulatedTag(b"".join(ndeflib.message_encoder([ndeflib.TextRecord("hello")])), port=good.port)
        foreign.present()
        result = screen.next_event("tap.result")["result"]
        foreign.remove()
        assert ("rejected", "foreign-ndef") == (result["outcome"], result["reason"])
        screen.close()
        types = [r[0] for r in app.journal.conn.execute("SELECT type FROM records ORDER BY seq")]
        assert ["attendance.checkin", "tap.rejected"] == types


def test_unplugged_reader_reports_and_reconnects(county: TestCounty) -> None:
    """Opening the device fails (unplugged) → error state; it comes back → ready and reading."""
    tag = EmulatedTag(card.to_ndef(county.card_bytes(county.credential()))).present()
    attempts = []

    def frontend(device: str):  # the library boundary: nfcpy raises IOError for a missing device
        attempts.append(device)
        if len(attempts) < 3:
            raise OSError("no such device")
        import nfc

        return nfc.ContactlessFrontend(device)

    try:
        with Running(NfcReader(tag.device, frontend=frontend, retry_first=0.1)) as r:
            r.reads.get(timeout=10)
        states = [s for s, _ in r.states]
        assert ["connecting", "error", "connecting", "error", "connecting", "ready"] == states[:6]
        assert "unplugged" in r.states[1][1]
    finally:
        tag.remove()


class TestNdefOfAtTheTagBoundary:
    """How the reader treats nfcpy's answers, with stand-ins of nfcpy's tag interface for the
    cases the simulated cards cannot produce on demand (Type 2 and Type 4 through nfcpy's own
    code: test_reader_type2.py, test_reader_type4.py)."""

    def test_ndef_of_a_type4_tag(self, county: TestCounty) -> None:
        message = card.to_ndef(county.card_bytes(county.credential()))
        tag = SimpleNamespace(type="Type4Tag", ndef=SimpleNamespace(octets=bytearray(message), is_readable=True))
        emitted = []
        assert NfcReader("usb").on_connect(emitted.append)(tag) is True  # waits for removal
        assert (message, False) == (emitted[0].ndef, emitted[0].torn)

    def test_tag_without_ndef_support_still_there(self) -> None:
        assert b"" == ndef_of(SimpleNamespace(type="Type4Tag", ndef=None, is_present=True))

    def test_a_read_that_failed_on_the_air_is_read_again(self) -> None:
        """nfcpy says None both for "no NDEF" and for a read whose command timed out."""
        class SlowFirstRead:
            type = "Type3Tag"
            reads = 0

            @property
            def ndef(self):
                self.reads += 1
                return None if self.reads == 1 else SimpleNamespace(octets=bytearray(b"\xd1\x01\x00T"),
                                                                    is_readable=True)

        tag = SlowFirstRead()
        assert b"\xd1\x01\x00T" == ndef_of(tag)
        assert 2 == tag.reads

    def test_tag_moved_away_mid_read_is_torn(self) -> None:
        class Flaky:
            type = "Type4Tag"

            @property
            def ndef(self):
                raise OSError("tag gone")

        assert ndef_of(Flaky()) is None
