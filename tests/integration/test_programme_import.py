"""`learncard provision programme|rules`: a county's timetable from CSV or XLSX, refused
whole when any row is wrong, signed and versioned when right, and given back unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from learncard.errors import user_errors
from learncard.main import cli
from provisioning.home import CountyHome
from records import county, programme

HEADER = ",".join(programme.COLUMNS)
GOOD = [
    "v-town,phone-basics,智能手机入门,Smartphone basics,science-tech,workshop,elderly,,20,term,standard,,2,"
    "2026-11-01,2026-12-31,09:00,10:30",
    "v-town,phone-basics,智能手机入门,Smartphone basics,science-tech,workshop,elderly,,20,term,standard,,4,"
    "2026-11-01,2026-12-31,09:00,10:30",
    "v-village,tai-chi,太极拳,,sports-fitness,practice,all,,,none,short,2026-11-28,,,,15:00,16:00",
]


def invoke(home: Path, *args: str) -> tuple[int, str]:
    """Exit code and text, as `learncard` prints them (a user error: its one message, code 1)."""
    result = CliRunner().invoke(cli, ["provision", "--home", str(home), *args])
    if isinstance(result.exception, user_errors()):
        return 1, str(result.exception)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "county"
    assert 0 == invoke(path, "init", "--county", "county-3301", "--home-page", "https://learn.example")[0]
    assert 0 == invoke(path, "rules", "set", "short", "--min-share", "80", "--rounding-minutes", "5")[0]
    for kiosk, venue in (("k-town-1", "v-town"), ("k-village-1", "v-village"), ("k-school-1", "town-school")):
        code, text = invoke(path, "enroll", "--generate", "--kiosk", kiosk, "--venue", venue, "--level",
                            "township-school", "--out", str(tmp_path / kiosk))
        assert 0 == code, text
    return path


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def version(home: Path, kind: str) -> int:
    doc = CountyHome.open(home).load_document_or_none(kind)
    return 0 if doc is None else doc.version


class TestImport:
    def test_import_show_export_is_a_round_trip(self, home: Path, tmp_path: Path) -> None:
        """The exported CSV is byte for byte the imported one; show lists every time."""
        source = write_csv(tmp_path / "p.csv", GOOD)
        code, text = invoke(home, "programme", "import", str(source))
        assert 0 == code, text
        assert 1 == version(home, "programme")
        code, shown = invoke(home, "programme", "show")
        assert 0 == code and 3 == sum(1 for line in shown.splitlines() if "09:00-10:30" in line or "15:00" in line)
        code, exported = invoke(home, "programme", "export")
        assert source.read_text(encoding="utf-8") == exported

    def test_an_xlsx_sheet_imports_like_its_csv(self, home: Path, tmp_path: Path) -> None:
        """Spreadsheet cells typed as numbers, dates and times read as the CSV's text."""
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(list(programme.COLUMNS))
        from datetime import date, time

        sheet.append(["v-town", "phone-basics", "智能手机入门", "Smartphone basics", "science-tech", "workshop",
                      "elderly", None, 20, "term", "standard", None, 2, date(2026, 11, 1), date(2026, 12, 31),
                      time(9, 0), time(10, 30)])
        book.save(tmp_path / "p.xlsx")
        assert 0 == invoke(home, "programme", "import", str(tmp_path / "p.xlsx"))[0]
        code, exported = invoke(home, "programme", "export")
        assert HEADER + "\n" + GOOD[0] + "\n" == exported
        invoke(home, "programme", "export", "--out", str(tmp_path / "back.xlsx"))
        assert 0 == invoke(home, "programme", "import", str(tmp_path / "back.xlsx"))[0]
        assert exported == invoke(home, "programme", "export")[1]

    def test_bad_rows_are_each_named_and_nothing_is_imported(self, home: Path, tmp_path: Path) -> None:
        """Three faults on two rows: three messages, and the programme in force is untouched."""
        assert 0 == invoke(home, "programme", "import", str(write_csv(tmp_path / "good.csv", GOOD)))[0]
        bad = [GOOD[0], GOOD[1].replace(",4,", ",9,").replace("science-tech", "digital"),
               GOOD[2].replace("short", "lenient")]
        code, text = invoke(home, "programme", "import", str(write_csv(tmp_path / "bad.csv", bad)))
        assert 1 == code
        assert "3 faults, nothing imported" in text
        assert "row 3, column category" in text and "row 3, column weekday" in text
        assert "row 4, column credit_rule" in text and "第 4 行 credit_rule 列" in text
        assert 1 == version(home, "programme")

    def test_a_venue_without_a_kiosk_is_refused(self, home: Path, tmp_path: Path) -> None:
        """Steps in the wrong order: a programme for a venue not yet in the registry."""
        code, text = invoke(home, "programme", "import", str(write_csv(tmp_path / "p.csv", [
            GOOD[0].replace("v-town", "v-nowhere")])))
        assert 1 == code and "row 2, column venue: venue 'v-nowhere' is not in the registry" in text
        assert 0 == version(home, "programme")

    def test_a_file_that_is_not_a_sheet_is_refused_plainly(self, home: Path, tmp_path: Path) -> None:
        (tmp_path / "p.xlsx").write_bytes(b"not a zip")
        code, text = invoke(home, "programme", "import", str(tmp_path / "p.xlsx"))
        assert 1 == code and "not a readable XLSX" in text
        (tmp_path / "p.txt").write_text("x")
        code, text = invoke(home, "programme", "import", str(tmp_path / "p.txt"))
        assert 1 == code and "only .csv or .xlsx" in text
        (tmp_path / "gbk.csv").write_bytes((HEADER + "\n" + GOOD[0] + "\n").encode("gbk"))
        code, text = invoke(home, "programme", "import", str(tmp_path / "gbk.csv"))
        assert 1 == code and "not UTF-8" in text

    def test_the_template_imports_once_its_venues_are_real(self, home: Path, tmp_path: Path) -> None:
        code, text = invoke(home, "programme", "template", "--out", str(tmp_path / "t.csv"))
        assert 0 == code
        assert 0 == invoke(home, "programme", "import", str(tmp_path / "t.csv"))[0]

    def test_the_signed_programme_verifies_with_the_county_key(self, home: Path, tmp_path: Path) -> None:
        invoke(home, "programme", "import", str(write_csv(tmp_path / "p.csv", GOOD)), "--grace", "20",
               "--closing-time", "20:30")
        county_home = CountyHome.open(home)
        token = (home / "programme.jws").read_text().strip()
        doc = county.verify_document(token, county_home.issuer_key().public_key(), "programme", "county-3301")
        assert {"checkin_window_minutes": 15, "grace_minutes": 20, "closing_time": "20:30"} == \
            doc.body["session_defaults"]


class TestRules:
    def test_rules_set_versions_the_rules_and_keeps_other_settings(self, home: Path) -> None:
        """`rules set` changes only what it names; each change is a new signed version."""
        assert 1 == version(home, "credit-rules")
        code, text = invoke(home, "rules", "set", "short", "--daily-cap", "180", "--json")
        assert 0 == code, text
        shown = json.loads(invoke(home, "rules", "show", "--json")[1])
        assert 2 == shown["version"] and "standard" == shown["default"]
        assert (80, 5, 180, "nothing") == tuple(shown["rules"]["short"][k] for k in (
            "min_share_percent", "rounding_minutes", "daily_cap_minutes", "no_checkout"))

    def test_a_bad_rule_is_refused(self, home: Path) -> None:
        code, text = invoke(home, "rules", "set", "short", "--min-share", "150")
        assert 1 == code and "min_share_percent is 0..100" in text
        assert 1 == version(home, "credit-rules")
