"""The statistics as files: an XLSX workbook for the county office (openpyxl: one sheet per
table, Chinese headers, codes as text, a totals row, the header frozen), CSV and JSON for
systems, PNG charts and an HTML page for the annual report.

CSV opened in Excel or WPS turns ``0000000000018`` into the number 18; learner codes and
other codes are written as ``="0000000000018"``, which both show as text. Systems that
read the CSV strip the ``="…"``, or read the JSON, which holds plain values.
"""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path
from typing import Any

from gateway.report_chart import BLUE, ORANGE, bars
from gateway.statistics import Statistics, Table

PERCENT = "0.00%"


def _cells(table: Table) -> list[list[Any]]:
    rows = [[row.get(c.key) for c in table.columns] for row in table.rows]
    if table.totals is not None:
        rows.append([table.totals.get(c.key) for c in table.columns])
    return rows


def workbook(stats: Statistics) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for table in stats.tables:
        sheet = book.create_sheet(table.name)
        sheet.append([c.title for c in table.columns])
        for cell in sheet[1]:
            cell.font = bold
        for values in _cells(table):
            sheet.append(values)
        for col, column in enumerate(table.columns, start=1):
            letter = sheet.cell(row=1, column=col).column_letter
            sheet.column_dimensions[letter].width = max(10, len(column.title) * 2 + 2)
            for row in range(2, sheet.max_row + 1):
                cell = sheet.cell(row=row, column=col)
                if column.kind == "text":
                    cell.number_format = "@"  # codes stay text: 0000000000018, not 18
                    if cell.value is not None:
                        cell.value = str(cell.value)
                elif column.kind == "percent":
                    cell.number_format = PERCENT
        if table.totals is not None:
            for cell in sheet[sheet.max_row]:
                cell.font = bold
        sheet.freeze_panes = "A2"
        if table.note:
            sheet.cell(row=sheet.max_row + 2, column=1, value=table.note)
    info = book.create_sheet("说明", 0)
    for line in (["统计周期 / period", stats.label], ["起 / since", stats.since.isoformat()],
                 ["止(不含) / until (exclusive)", stats.until.isoformat()], ["统计范围 / scope", stats.scope]):
        info.append(line)
    info.column_dimensions["A"].width = 28
    info.column_dimensions["B"].width = 32
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def table_csv(table: Table) -> str:
    """One table as CSV (UTF-8 with BOM when written, for Excel): codes as ="…" text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.title for c in table.columns])
    for values in _cells(table):
        writer.writerow([f'="{v}"' if c.kind == "text" and v not in (None, "") and str(v).isdigit() else
                         ("" if v is None else v) for c, v in zip(table.columns, values, strict=True)])
    return out.getvalue()


def charts(stats: Statistics) -> dict[str, bytes]:
    return {
        "attendances-by-month.png": bars(f"{stats.label} 月度学习人次 / attendances by month", "人次 / attendances",
                                         [(m, a) for m, a, _ in stats.monthly], BLUE),
        "hours-by-month.png": bars(f"{stats.label} 月度学时 / study hours by month", "学时 / hours",
                                   [(m, h) for m, _, h in stats.monthly], ORANGE),
        "hours-by-category.png": bars(f"{stats.label} 各类别学时 / study hours by category", "学时 / hours",
                                      stats.categories, ORANGE),
    }


def _html_value(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "percent":
        return f"{value * 100:.2f}%"
    return html.escape(str(value))


def page(stats: Statistics, chart_names: list[str]) -> str:
    parts = [f"<!doctype html><html lang='zh-CN'><meta charset='utf-8'><title>社区教育统计 {html.escape(stats.label)}"
             "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #999;padding:4px 8px}tr.total{font-weight:bold}</style>",
             f"<h1>社区教育统计 / Community education statistics — {html.escape(stats.label)}</h1>",
             f"<p>{html.escape(stats.since.isoformat())} — {html.escape(stats.until.isoformat())}（不含 / exclusive）"
             f"，范围 / scope: {html.escape(stats.scope)}</p>"]
    parts += [f"<img src='{html.escape(name)}' alt='{html.escape(name)}' width='800'>" for name in chart_names]
    for table in stats.tables:
        parts.append(f"<h2>{html.escape(table.name)}</h2><table><tr>"
                     + "".join(f"<th>{html.escape(c.title)}</th>" for c in table.columns) + "</tr>")
        rows = _cells(table)
        for i, values in enumerate(rows):
            total = table.totals is not None and i == len(rows) - 1
            parts.append(f"<tr{' class=total' if total else ''}>" + "".join(
                f"<td>{_html_value(v, c.kind)}</td>" for c, v in zip(table.columns, values, strict=True)) + "</tr>")
        parts.append("</table>")
        if table.note:
            parts.append(f"<p>{html.escape(table.note)}</p>")
    return "\n".join(parts) + "\n</html>\n"


def write_all(stats: Statistics, folder: Path) -> list[Path]:
    """report.xlsx, <table>.csv, statistics.json, the charts and report.html into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []

    def put(name: str, data: bytes | str, encoding: str = "utf-8") -> None:
        path = folder / name
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding=encoding)
        written.append(path)

    put("report.xlsx", workbook(stats))
    for table in stats.tables:
        put(f"{table.key}.csv", table_csv(table), "utf-8-sig")
    put("statistics.json", json.dumps(stats.as_json(), ensure_ascii=False, indent=2))
    pictures = charts(stats)
    for name, png in pictures.items():
        put(name, png)
    put("report.html", page(stats, list(pictures)))
    return written
