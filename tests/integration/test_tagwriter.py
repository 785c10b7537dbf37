"""`cards write` onto an emulated writable Type 3 tag through nfcpy's udp device, then read
back by the kiosk's own NFC reader."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from kiosk.reader.nfc import NfcReader
from learncard.main import cli
from provisioning.tagwriter import TagError, write_credential
from records import card
from tests.support.county import TestCounty
from tests.support.nfc_tag import EmulatedTag


def test_write_then_the_kiosk_reads_it(county: TestCounty) -> None:
    data = county.card_bytes(county.credential())
    tag = EmulatedTag(b"", writable=True, capacity_blocks=16).present()
    try:
        written = write_credential(tag.device, data, timeout=10)
        assert ("Type3Tag", len(card.to_ndef(data))) == (written.tag_type, written.bytes_written)
        assert card.to_ndef(data) == tag.ndef()
    finally:
        tag.remove()
    again = EmulatedTag(tag.ndef(), port=tag.port).present()  # the same card, tapped at a kiosk
    reads: queue.Queue = queue.Queue()
    stop = threading.Event()
    reader = threading.Thread(target=NfcReader(again.device).run, args=(reads.put, lambda *a: None, stop), daemon=True)
    reader.start()
    try:
        assert data == card.from_ndef(reads.get(timeout=10).ndef)
    finally:
        stop.set()
        reader.join(timeout=10)
        again.remove()


def test_tag_too_small_is_refused_naming_type_and_bytes(county: TestCounty) -> None:
    data = county.card_bytes(county.credential())
    tag = EmulatedTag(b"", writable=True, capacity_blocks=4).present()  # 64 bytes
    try:
        with pytest.raises(TagError, match=r"Type3Tag.*64 bytes.*needs \d+"):
            write_credential(tag.device, data, timeout=10)
        assert b"" == tag.ndef()
    finally:
        tag.remove()


def test_read_only_tag_is_refused(county: TestCounty) -> None:
    tag = EmulatedTag(b"", writable=False).present()
    try:
        with pytest.raises(TagError, match="read-only"):
            write_credential(tag.device, county.card_bytes(county.credential()), timeout=10)
    finally:
        tag.remove()


def test_cards_write_command(tmp_path: Path) -> None:
    home = tmp_path / "county"
    run = CliRunner()
    assert 0 == run.invoke(cli, ["provision", "--home", str(home), "init", "--county", "county-3301",
                                 "--home-page", "https://learn.example"]).exit_code
    import json

    issued = json.loads(run.invoke(cli, ["provision", "--home", str(home), "cards", "issue", "--json"]).output)[0]
    tag = EmulatedTag(b"", writable=True, capacity_blocks=16).present()
    try:
        result = run.invoke(cli, ["provision", "--home", str(home), "cards", "write", issued["card"],
                                  "--device", tag.device])
        assert 0 == result.exit_code, result.output
        assert "verified" in result.output
        assert Path(issued["credential"]).read_bytes() == card.from_ndef(tag.ndef())
    finally:
        tag.remove()
