"""The county's programme (课程表) and credit rules (学时规则) as county staff keep them:
spreadsheets (CSV in UTF-8, or XLSX) in, signed versioned documents out.

A programme is imported whole or not at all: every row is checked first
(:func:`records.programme.rows_to_body`) against the credit rules and the staff roster in
force, and any fault refuses the file with one message per fault."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

from provisioning.errors import ProvisioningError
from provisioning.home import CountyHome
from records import county, programme
from records.county import Document
from records.ids import is_valid_name
from records.rules import CreditRule, RuleBook, default_rule_book

TEMPLATE_EXAMPLE = (
    {"venue": "town-school", "course_id": "phone-basics", "title_zh": "智能手机入门", "title_en": "Smartphone basics",
     "category": "science-tech", "form": "workshop", "audience": "elderly", "staff_id": "", "capacity": "20",
     "registration": "term", "credit_rule": "standard", "date": "", "weekday": "2", "term_start": "2026-09-01",
     "term_end": "2027-01-15", "start": "09:00", "end": "10:30"},
    {"venue": "town-school", "course_id": "tai-chi", "title_zh": "太极拳", "title_en": "",
     "category": "sports-fitness", "form": "practice", "audience": "all", "staff_id": "", "capacity": "",
     "registration": "none", "credit_rule": "standard", "date": "2026-12-05", "weekday": "", "term_start": "",
     "term_end": "", "start": "15:00", "end": "16:00"},
)


class ProgrammeError(ProvisioningError):
    """A programme or credit-rule file that cannot be used; the message names every fault."""


# --- spreadsheets ---------------------------------------------------------------------------

def read_rows(path: Path) -> list[dict[str, str]]:
    """The data rows of a CSV (UTF-8, with or without BOM) or XLSX file, keyed by header."""
    try:
        if path.suffix.lower() == ".xlsx":
            return _read_xlsx(path)
        if path.suffix.lower() != ".csv":
            raise ProgrammeError(f"{path.name}: 只接受 .csv 或 .xlsx 文件 / only .csv or .xlsx files")
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise ProgrammeError(f"无法读取 {path} / cannot read {path}: {err.strerror}") from err
    except UnicodeDecodeError as err:
        raise ProgrammeError(f"{path.name} 不是 UTF-8 编码 / is not UTF-8 (save it as CSV UTF-8)") from err
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    for row in reader:
        if None in row:
            raise ProgrammeError(f"第 {reader.line_num} 行的列数多于表头 / row {reader.line_num} has more "
                                 "cells than the header")
        if any((v or "").strip() for v in row.values()):
            rows.append({k: v or "" for k, v in row.items()})
    return rows


def _cell(value: Any) -> str:
    from datetime import date, datetime, time

    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.strftime("%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(path: Path) -> list[dict[str, str]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as err:
        raise ProgrammeError(f"{path.name} 不是可读的 XLSX 文件 / is not a readable XLSX file: {err}") from err
    sheet = book.worksheets[0]
    lines = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    book.close()
    if not lines:
        return []
    header = [h.strip() for h in lines[0]]
    while header and not header[-1]:
        header.pop()
    rows = []
    for line in lines[1:]:
        extra = [v for v in line[len(header):] if v.strip()]
        if extra:
            raise ProgrammeError(f"第 {len(rows) + 2} 行的列数多于表头 / row {len(rows) + 2} has more cells "
                                 "than the header")
        if any(v.strip() for v in line):
            rows.append(dict(zip(header, line + [""] * (len(header) - len(line)), strict=True)))
    return rows


def write_rows(rows: list[dict[str, str]], path: Path | None) -> bytes:
    """The rows as CSV (UTF-8, LF line ends) or, for a ``.xlsx`` path, as a workbook."""
    if path is not None and path.suffix.lower() == ".xlsx":
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "programme"
        sheet.append(list(programme.COLUMNS))
        for row in rows:
            sheet.append([row[c] for c in programme.COLUMNS])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=programme.COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


# --- the documents ----------------------------------------------------------------------------

def rule_book(home: CountyHome) -> RuleBook:
    """The credit rules in force (the built-in ``standard`` rule before any ``rules set``)."""
    doc = home.load_document_or_none("credit-rules")
    return default_rule_book() if doc is None else RuleBook.from_body(doc.body)


def current(home: CountyHome) -> dict[str, Any] | None:
    doc = home.load_document_or_none("programme")
    return None if doc is None else doc.body


def import_file(home: CountyHome, path: Path, session_defaults: dict[str, Any] | None = None) -> Document:
    """Check every row of ``path``; sign and write the programme only if all are good."""
    rows = read_rows(path)
    staff = {str(s["staff_id"]) for s in home.load_document("staff").body.get("staff", [])}
    venues = set(county.Registry(home.load_document("registry")).venues)
    previous = current(home)
    try:
        body = programme.rows_to_body(
            rows, categories=(previous or {}).get("categories"), rules=set(rule_book(home).rules), staff=staff,
            venues=venues,
            session_defaults={**programme.session_settings(previous), **(session_defaults or {})})
    except programme.ProgrammeRowsError as err:
        raise ProgrammeError(f"{path.name}: {len(err.errors)} 处错误，未导入任何内容 / "
                             f"{len(err.errors)} faults, nothing imported\n{err}") from err
    return home.save_document("programme", body)


def set_rule(home: CountyHome, name: str, values: dict[str, Any], make_default: bool = False) -> Document:
    """Add or change one named credit rule (unnamed settings keep their current values)."""
    if not is_valid_name(name):
        raise ProgrammeError(f"rule name {name!r} must match [a-z0-9-]{{3,40}}")
    book = rule_book(home)
    base = book.rules.get(name, CreditRule()).as_dict()
    try:
        rule = CreditRule.from_dict({**base, **values})
    except (TypeError, ValueError) as err:
        raise ProgrammeError(f"学时规则 {name} 不对 / credit rule {name}: {err}") from err
    rules = {**book.rules, name: rule}
    body = RuleBook(rules, name if make_default else book.default).body()
    return home.save_document("credit-rules", body)
