"""A printable PDF sheet of QR cards: ten cards of 85.6 × 54 mm on an A4 page, each with
the QR code (the same bytes as the NFC card), the learner code in large digits, the masked
name and a short instruction in Chinese."""

from __future__ import annotations

import io
from pathlib import Path

from provisioning.cards import Issued, learner_text

FONT_FILES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian fonts-wqy-microhei
              "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
INSTRUCTION = "请在签到机上刷卡或出示二维码"
CARD_W_MM, CARD_H_MM = 85.6, 54.0


def cjk_font() -> str:
    """A registered reportlab font that draws Chinese (Helvetica if none is installed)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for path in FONT_FILES:
        if Path(path).exists():
            if "LCSans" not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont("LCSans", path, subfontIndex=0))
            return "LCSans"
    return "Helvetica"  # no CJK font: the Chinese line cannot be drawn; install fonts-wqy-microhei


def render(cards: list[Issued], county_name: str = "") -> bytes:
    import qrcode
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    font = cjk_font()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    page_w, page_h = A4
    card_w, card_h = CARD_W_MM * mm, CARD_H_MM * mm
    margin_x = (page_w - 2 * card_w) / 3
    margin_y = (page_h - 5 * card_h) / 6
    for i, issued in enumerate(cards):
        slot = i % 10
        if slot == 0 and i:
            pdf.showPage()
        col, row = slot % 2, slot // 2
        x = margin_x + col * (card_w + margin_x)
        y = page_h - (row + 1) * (card_h + margin_y)
        pdf.setStrokeColorRGB(0.6, 0.6, 0.6)
        pdf.roundRect(x, y, card_w, card_h, 3 * mm)  # cut line
        qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=2)
        qr.add_data(issued.qr_text)
        image = qr.make_image().get_image()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        side = 38 * mm
        pdf.drawImage(ImageReader(io.BytesIO(buffer.getvalue())), x + 2 * mm, y + (card_h - side) / 2, side, side)
        text_x = x + side + 4 * mm
        pdf.setFillColorRGB(0, 0, 0)
        pdf.setFont(font, 8)
        pdf.drawString(text_x, y + card_h - 8 * mm, "社区学习卡")
        pdf.drawString(text_x, y + card_h - 12 * mm, county_name)
        pdf.setFont(font, 15)  # the learner code, large enough to read out and type
        code = learner_text(issued.credential.learner)
        pdf.drawString(text_x, y + card_h - 21 * mm, code[:9])
        pdf.drawString(text_x, y + card_h - 28 * mm, code[10:])
        if issued.credential.name:
            pdf.setFont(font, 14)
            pdf.drawString(text_x, y + card_h - 38 * mm, issued.credential.name)
        pdf.setFont(font, 6.5)
        pdf.drawString(text_x, y + 5 * mm, INSTRUCTION)
    pdf.showPage()
    pdf.save()
    return out.getvalue()
