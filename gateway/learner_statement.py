"""A learner's own record (学习证明): courses, credited hours per term and venue, voided records
left out — and the county-signed summary (records/summary.py) for its QR code, and the PDF.

Built from the records as corrected (gateway/corrections.py: voids and amendments applied,
walk-ins' temporary ids linked to the code). No name is printed unless the caller gives one.
Terms as the county's statistics count them: ``2026-autumn`` = 1 Aug 2026 – 31 Jan 2027,
``2026-spring`` = 1 Feb – 31 Jul 2026, in the venue's time zone.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from records.record import Record, parse_time
from records.summary import Summary

SELF_STUDY = "自主学习"
CREDITING = ("attendance.checkout", "attendance.manual")


def term_of(moment: datetime) -> str:
    if moment.month >= 8:
        return f"{moment.year}-autumn"
    if moment.month == 1:
        return f"{moment.year - 1}-autumn"
    return f"{moment.year}-spring"


def term_order(term: str) -> tuple[int, int]:
    year, _, half = term.partition("-")
    return int(year), 1 if half == "autumn" else 0


def term_label(term: str) -> str:
    year, _, half = term.partition("-")
    return f"{year}年{'秋季' if half == 'autumn' else '春季'}学期"


@dataclass
class Statement:
    learner: str
    courses: list[dict[str, Any]] = field(default_factory=list)  # course, attendances, minutes, registered
    rows: list[tuple[str, str, int]] = field(default_factory=list)  # (term, venue, minutes)
    total_minutes: int = 0
    voided_left_out: int = 0

    def summary(self, county: str, kid: str, issued_at: int) -> Summary:
        return Summary(county, kid, self.learner, issued_at, tuple(self.rows), self.total_minutes,
                       self.voided_left_out)

    def as_json(self) -> dict[str, Any]:
        return {"learner": self.learner, "courses": self.courses,
                "terms": [{"term": t, "venue": v, "minutes": m, "hours": round(m / 60, 2)} for t, v, m in self.rows],
                "total_minutes": self.total_minutes, "total_hours": round(self.total_minutes / 60, 2),
                "voided_left_out": self.voided_left_out}


def build(records: Iterable[Record], voided: Iterable[Record], learner: str,
          zone_of: Callable[[str], ZoneInfo]) -> Statement:
    """The statement of ``learner`` from corrected records (and the voided ones, to count)."""
    records = list(records)
    course_of = {r.data["session_id"]: r.data["course"] for r in records if r.type == "session.opened"}
    minutes: dict[tuple[str, str], int] = defaultdict(int)
    courses: dict[str, dict[str, Any]] = {}

    def course(rec: Record) -> dict[str, Any]:
        name = course_of.get(rec.data.get("session_id") or "", rec.data.get("course") or SELF_STUDY)
        return courses.setdefault(name, {"course": name, "attendances": 0, "minutes": 0, "registered": False})

    for rec in records:
        if rec.data.get("learner") != learner:
            continue
        if rec.type in CREDITING:
            venue = str(rec.event["venue"])
            moment = parse_time(rec.data.get("checkin_time") or rec.event["time"]).astimezone(zone_of(venue))
            minutes[(term_of(moment), venue)] += int(rec.data["minutes_credited"])
            entry = course(rec)
            entry["attendances"] += 1
            entry["minutes"] += int(rec.data["minutes_credited"])
        elif rec.type == "enrollment":
            course(rec)["registered"] = True
    rows = [(term, venue, m) for (term, venue), m in sorted(minutes.items(), key=lambda kv: (term_order(kv[0][0]),
                                                                                             kv[0][1]))]
    return Statement(learner, sorted(courses.values(), key=lambda c: (-c["minutes"], c["course"])), rows,
                     sum(m for _, _, m in rows), sum(1 for r in voided if r.data.get("learner") == learner))


def render_pdf(statement: Statement, qr_text: str, *, font: str, county_name: str, venue_names: dict[str, str],
               issued: datetime, name: str | None = None) -> bytes:
    """The 学习证明 as an A4 PDF (reportlab), the signed summary as a QR code in the corner."""
    import qrcode
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    pdf.setTitle("学习证明")
    width, height = A4
    y = height - 25 * mm
    pdf.setFont(font, 22)
    pdf.drawCentredString(width / 2, y, "学 习 证 明")
    y -= 8 * mm
    pdf.setFont(font, 10)
    pdf.drawCentredString(width / 2, y, f"{county_name} 社区教育终身学习档案 / Lifelong learning record")
    y -= 14 * mm
    pdf.setFont(font, 12)
    lines = [f"学习卡号 Learner code：{statement.learner}"]
    if name:
        lines.insert(0, f"姓名 Name：{name}")
    lines.append(f"出具日期 Issued：{issued.strftime('%Y-%m-%d')}")
    lines.append(f"累计学时 Total credited hours：{statement.total_minutes / 60:.1f}")
    for line in lines:
        pdf.drawString(20 * mm, y, line)
        y -= 7 * mm
    def room(y: float) -> float:  # a new page when this one is full
        if y >= 40 * mm:
            return y
        pdf.showPage()
        pdf.setFont(font, 10.5)
        return height - 25 * mm

    def heading(y: float, text: str) -> float:
        y -= 4 * mm
        pdf.setFont(font, 13)
        pdf.drawString(20 * mm, y, text)
        pdf.setFont(font, 10.5)
        return y - 7 * mm

    y = heading(y, "课程 Courses")
    for entry in statement.courses:
        y = room(y)
        state = "已报名 " if entry["registered"] else ""
        pdf.drawString(24 * mm, y, f"{entry['course'][:40]}")
        pdf.drawRightString(width - 20 * mm, y, f"{state}{entry['attendances']} 次  {entry['minutes'] / 60:.1f} 学时")
        y -= 6 * mm
    y = heading(y, "各学期、各学习点学时 Hours per term and venue")
    for term, venue, minutes in statement.rows:
        y = room(y)
        pdf.drawString(24 * mm, y, f"{term_label(term)}  {venue_names.get(venue, venue)}")
        pdf.drawRightString(width - 20 * mm, y, f"{minutes / 60:.1f} 学时")
        y -= 6 * mm
    pdf.setFont(font, 8.5)
    note = "已作废或更正的记录按更正后计算"
    if statement.voided_left_out:
        note += f"（{statement.voided_left_out} 条已作废记录未计入）"
    pdf.drawString(20 * mm, 30 * mm, note)
    pdf.drawString(20 * mm, 25 * mm, "右侧二维码含县级签名摘要，任何人可离线核验：learncard verify")
    pdf.drawString(20 * mm, 20 * mm, "The QR code holds a county-signed summary: check it offline (learncard verify).")
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(qr_text)
    image = qr.make_image().get_image()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    side = 45 * mm
    pdf.drawImage(ImageReader(io.BytesIO(buffer.getvalue())), width - 20 * mm - side, 35 * mm, side, side)
    pdf.showPage()
    pdf.save()
    return out.getvalue()
