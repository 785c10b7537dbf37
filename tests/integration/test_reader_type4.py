"""Type 4 cards (an NTAG 424 DNA without SDM) through nfcpy's own Type 4 code: ``sense_tta``,
RATS and ISO-DEP (``nfc.tag.tt4``), the NDEF application's SELECT / READ BINARY / UPDATE
BINARY, against the simulated chip (``tests/support/ntag424.py``) in the field process."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from kiosk.reader.nfc import NfcReader
from provisioning.tagwriter import TagError, write_credential
from records import card
from tests.support.county import TestCounty
from tests.support.devices import Running
from tests.support.nfc_field import NfcField
from tests.support.ntag424 import plain


@pytest.fixture
def field() -> Iterator[NfcField]:
    with NfcField() as f:
        yield f


def test_credential_is_read_once_while_the_card_stays(field: NfcField, county: TestCounty) -> None:
    data = county.card_bytes(county.credential())
    field.present_type4(plain(card.to_ndef(data)))
    with Running(NfcReader(field.device)) as r:
        read = r.reads.get(timeout=10)
        assert (data, False) == (card.from_ndef(read.ndef), read.torn)
        time.sleep(1.0)  # left on the reader: ISO-DEP presence checks, no second read
        assert r.reads.empty()


def test_card_pulled_away_mid_read_is_torn(field: NfcField, county: TestCounty) -> None:
    field.present_type4(plain(card.to_ndef(county.card_bytes(county.credential()))), vanish_after=5)
    with Running(NfcReader(field.device)) as r:
        read = r.reads.get(timeout=10)
    assert (b"", True) == (read.ndef, read.torn)


def test_cards_write_then_the_kiosk_reads_it(field: NfcField, county: TestCounty) -> None:
    data = county.card_bytes(county.credential())
    chip = plain()
    field.present_type4(chip)
    written = write_credential(field.device, data, timeout=10)
    assert ("Type4Tag", len(card.to_ndef(data))) == (written.tag_type, written.bytes_written)
    chip.ndef_file = bytearray(field.memory())
    field.remove()
    field.present_type4(chip)
    with Running(NfcReader(field.device)) as r:
        assert data == card.from_ndef(r.reads.get(timeout=10).ndef)


def test_read_only_card_is_refused(field: NfcField, county: TestCounty) -> None:
    chip = plain(writable=False)
    field.present_type4(chip)
    with pytest.raises(TagError, match="read-only"):
        write_credential(field.device, county.card_bytes(county.credential()), timeout=10)
    assert bytes(chip.ndef_file) == field.memory()
