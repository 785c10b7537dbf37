"""Provisioning II: cards, the PDF sheet, the revocation list, staff and the roster — and what
the kiosk does with them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from click.testing import CliRunner
from PIL import Image

from kiosk.county_docs import CountyDocuments
from learncard.main import cli
from provisioning.cards import CardError
from provisioning.home import CountyHome
from provisioning.staff import StaffError
from records import card, keys
from tests.support.county import TestCounty
from tests.support.kiosk import KioskSetup


def run(home: Path, *args: str, stdin: str | None = None) -> object:
    result = CliRunner().invoke(cli, ["provision", "--home", str(home), *args], input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert 0 == result.exit_code, result.output
    return json.loads(result.output) if "--json" in args else result.output


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "county"
    run(path, "init", "--county", "county-3301", "--home-page", "https://learn.county-3301.example")
    return path


def kiosk_for(home: Path, tmp_path: Path) -> KioskSetup:
    """A kiosk of this county (its issuer key), with the county's current signed lists."""
    h = CountyHome.open(home)
    county = TestCounty(county_id=h.county_id, issuer=h.issuer_key())
    kiosk = KioskSetup(county, tmp_path / "kiosk")
    for kind in ("revoked-cards", "staff"):
        kiosk.put_document(h.load_document(kind))
    return kiosk


class TestIssue:
    def test_one_card_with_a_masked_name_only(self, home: Path) -> None:
        (row,) = run(home, "cards", "issue", "--name", "王小明", "--groups", "elder,disabled", "--json")
        assert "王*明" == row["name"]
        cred = card.verify(Path(row["credential"]).read_bytes(),
                           {"county-3301": CountyHome.open(home).issuer_key().public_key()})
        assert (["elder", "disabled"], row["learner_code"]) == (cred.group_names, cred.learner_code)
        assert card.to_qr_text(Path(row["credential"]).read_bytes()) == row["qr_text"]
        for path in home.rglob("*"):
            if path.is_file():
                assert "王小明".encode() not in path.read_bytes(), path

    def test_new_learner_codes_never_repeat(self, home: Path) -> None:
        first = run(home, "cards", "issue", "--json")[0]["learner_code"]
        second = run(home, "cards", "issue", "--json")[0]["learner_code"]
        assert first != second
        again = run(home, "cards", "issue", "--learner", first, "--json")[0]  # a replacement card
        assert first == again["learner_code"]
        assert 2 == len(run(home, "cards", "show", first, "--json"))

    def test_batch_with_a_bad_row_writes_nothing(self, home: Path, tmp_path: Path) -> None:
        csv_file = tmp_path / "batch.csv"
        csv_file.write_text("learner_code,name,groups\n,李秀英,elder\n1234567890123,张伟,\n,刘芳,astronaut\n",
                            encoding="utf-8")
        with pytest.raises(CardError, match="line 3"):
            run(home, "cards", "issue", "--csv", str(csv_file))
        assert not (home / "cards" / "index.jsonl").exists()
        assert not (home / "learner-counter").exists()

    def test_batch_and_the_pdf_sheet_decode_back(self, home: Path, tmp_path: Path) -> None:
        csv_file = tmp_path / "batch.csv"
        csv_file.write_text("learner_code,name,groups\n" + "".join(f",居民{i}号,elder\n" for i in range(12)),
                            encoding="utf-8")
        sheet = tmp_path / "cards.pdf"
        rows = run(home, "cards", "issue", "--csv", str(csv_file), "--sheet", str(sheet), "--json")
        assert 12 == len(rows)
        subprocess.run(["pdftoppm", "-r", "150", "-png", str(sheet), str(tmp_path / "page")], check=True)
        pages = sorted(tmp_path.glob("page*.png"))
        assert 2 == len(pages)  # ten cards a page
        decoded = set()
        for page in pages:
            image = Image.open(page).convert("L")
            decoded |= {b.text for b in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)}
        assert {r["qr_text"] for r in rows} == decoded


class TestRevocation:
    def test_revoked_card_is_refused_at_the_kiosk(self, home: Path, tmp_path: Path) -> None:
        (row,) = run(home, "cards", "issue", "--json")
        result = run(home, "cards", "revoke", row["card"], "--reason", "stolen", "--json")
        assert 2 == result["revocation_list_version"]
        listed = run(home, "cards", "list", "--json")
        assert "revoked" == listed[0]["status"]
        with pytest.raises(CardError, match="revoked already"):
            run(home, "cards", "revoke", row["card"])
        kiosk = kiosk_for(home, tmp_path)
        with kiosk.running():
            c = kiosk.client()
            tap = c.call("tap", text=row["qr_text"])
            c.close()
        assert ("rejected", "revoked") == (tap["outcome"], tap["reason"])

    def test_kiosk_ignores_bad_or_older_lists(self, home: Path, tmp_path: Path, caplog) -> None:
        h = CountyHome.open(home)
        docs = CountyDocuments(tmp_path, h.county_id, h.issuer_key().public_key())
        (row,) = run(home, "cards", "issue", "--json")
        run(home, "cards", "revoke", row["card"])
        v2 = h.load_document("revoked-cards")
        assert docs.update("revoked-cards", v2.token)
        v1_again = h.save_document("revoked-cards", {"cards": []})  # version 3 but ...
        impostor = TestCounty(county_id=h.county_id)
        forged = impostor.revocations([], version=9)
        assert not docs.update("revoked-cards", forged.token)
        assert "does not verify" in caplog.text
        older = TestCounty(county_id=h.county_id, issuer=h.issuer_key()).revocations([], version=1)
        assert not docs.update("revoked-cards", older.token)
        assert "older" in caplog.text
        assert {row["card"]} == docs.revoked_cards()
        assert docs.update("revoked-cards", v1_again.token)


class TestStaff:
    def test_staff_card_and_pin_open_staff_mode_at_the_kiosk(self, home: Path, tmp_path: Path) -> None:
        added = run(home, "staff", "add", "s-0001", "--role", "volunteer", "--venue", "v-test", "--pin-stdin",
                    "--json", stdin="4826\n")
        assert 2 == added["roster_version"]
        listed = run(home, "staff", "list", "--json")
        assert "pin_hash" not in listed[0] and "4826" not in json.dumps(listed)
        assert "4826" not in (home / "staff.jws").read_text()
        credential = (home / "cards" / f"{added['card']}.cose").read_bytes()
        kiosk = kiosk_for(home, tmp_path)
        with kiosk.running():
            c = kiosk.client()
            tap = c.call("tap", text=card.to_qr_text(credential))
            assert "staff-card" == tap["outcome"]
            assert "s-0001" == c.call("staff.login", card_id=tap["card_id"], pin="4826")["staff_id"]
            c.close()
        run(home, "staff", "remove", "s-0001")
        assert [] == run(home, "staff", "list", "--json")

    @pytest.mark.parametrize(("pin", "why"), [("12", "4 to 12"), ("1111", "too easy"), ("1234", "too easy")])
    def test_weak_pins_are_refused(self, home: Path, pin: str, why: str) -> None:
        with pytest.raises(StaffError, match=why):
            run(home, "staff", "add", "s-0002", "--venue", "v-test", "--pin-stdin", stdin=pin + "\n")

    def test_duplicate_staff_id(self, home: Path) -> None:
        run(home, "staff", "add", "s-0003", "--venue", "*", "--pin-stdin", stdin="4826\n")
        with pytest.raises(StaffError, match="already"):
            run(home, "staff", "add", "s-0003", "--venue", "*", "--pin-stdin", stdin="5937\n")


def test_issuer_key_matches_home(home: Path) -> None:
    h = CountyHome.open(home)
    assert keys.public_key_text(h.issuer_key()) == h.issuer_public_text
