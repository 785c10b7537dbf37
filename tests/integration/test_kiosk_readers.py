"""A new kiosk's readers: the county chooses them at enrolment (written into the bundle the
agent reads), and `learncard kiosk readers test` lists what is plugged in and reads one card."""

from __future__ import annotations

import json
from pathlib import Path

import ndef as ndeflib
import pytest
from click.testing import CliRunner

from learncard.main import cli
from records import card
from tests.support.county import TestCounty
from tests.support.kiosk import KioskSetup
from tests.support.nfc_field import NfcField
from tests.support.ntag21x import memory_image


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "county"
    result = CliRunner().invoke(cli, ["provision", "--home", str(path), "init", "--county", "county-3301",
                                      "--home-page", "https://learn.county-3301.example"])
    assert 0 == result.exit_code, result.output
    return path


def enrol(home: Path, folder: Path, *options: str):
    run = CliRunner()
    request = run.invoke(cli, ["kiosk", "enroll-request", "--kiosk", "k-readers-1", "--out", str(folder)])
    assert 0 == request.exit_code, request.output
    return run.invoke(cli, ["provision", "--home", str(home), "enroll", "--request",
                            str(folder / "enroll-request.jws"), "--venue", "v-chengguan", "--level",
                            "township-school", "--out", str(folder), *options])


def readers_of(folder: Path) -> dict:
    shown = CliRunner().invoke(cli, ["kiosk", "--config", str(folder / "kiosk.toml"), "config", "show", "--json"])
    assert 0 == shown.exit_code, shown.output
    return json.loads(shown.output)["readers"]


class TestEnrolment:
    def test_a_default_bundle_reads_cards_without_editing(self, home: Path, tmp_path: Path) -> None:
        assert 0 == enrol(home, tmp_path / "kiosk").exit_code
        readers = readers_of(tmp_path / "kiosk")
        assert (["nfc", "camera"], "usb") == (readers["enabled"], readers["nfc_device"])

    def test_the_countys_choice_is_written(self, home: Path, tmp_path: Path) -> None:
        scanner = "/dev/input/by-id/usb-Netum_Scanner-event-kbd"
        result = enrol(home, tmp_path / "kiosk", "--readers", "nfc,hid", "--nfc-device", "tty:AMA0:pn532",
                       "--hid-device", scanner)
        assert 0 == result.exit_code, result.output
        readers = readers_of(tmp_path / "kiosk")
        assert (["nfc", "hid"], "tty:AMA0:pn532", scanner) == (readers["enabled"], readers["nfc_device"],
                                                                readers["hid_device"])

    @pytest.mark.parametrize(("options", "says"), [
        (["--readers", "nfc,webcam"], "webcam"),
        (["--readers", "hid"], "--hid-device"),
    ])
    def test_a_wrong_choice_is_refused_before_anything_is_written(self, home: Path, tmp_path: Path,
                                                                   options: list[str], says: str) -> None:
        result = enrol(home, tmp_path / "kiosk", *options)
        assert 0 != result.exit_code
        assert says in result.output + str(result.exception)  # main() prints the error in one line
        assert not (tmp_path / "kiosk" / "kiosk.toml").exists()


class TestReadersTest:
    @pytest.mark.parametrize(("message", "says"), [
        ("credential", "a valid learning card of county-"),
        ("foreign", "not a valid learning card of this county (foreign-ndef)"),
    ])
    def test_lists_then_reads_one_card(self, tmp_path: Path, county: TestCounty, message: str, says: str) -> None:
        kiosk = KioskSetup(county, tmp_path / "kiosk")
        ndef = (card.to_ndef(county.card_bytes(county.credential())) if message == "credential"
                else b"".join(ndeflib.message_encoder([ndeflib.UriRecord("https://example.org")])))
        with NfcField() as field:
            kiosk.set("readers", "enabled", ["nfc"])
            kiosk.set("readers", "nfc_device", field.device)
            field.present(memory_image("NTAG213", ndef))
            result = CliRunner().invoke(cli, ["kiosk", "--config", str(kiosk.config_file), "readers", "test",
                                              "--timeout", "20", "--json"])
        assert 0 == result.exit_code, result.output
        shown = json.loads(result.output[result.output.index("{"):])
        assert ("nfc", "nfc") == (shown["read"]["reader"], shown["read"]["how"])
        assert says in shown["read"]["result"]
        assert ["nfc"] == shown["enabled"]

    def test_nothing_read_is_a_failure(self, tmp_path: Path, county: TestCounty) -> None:
        kiosk = KioskSetup(county, tmp_path / "kiosk")
        with NfcField() as field:
            kiosk.set("readers", "enabled", ["nfc"])
            kiosk.set("readers", "nfc_device", field.device)
            result = CliRunner().invoke(cli, ["kiosk", "--config", str(kiosk.config_file), "readers", "test",
                                              "--timeout", "2"])
        assert 1 == result.exit_code
        assert "nothing was read within 2 s" in result.output
