"""Printing a walk-in slip on an ESC/POS receipt printer, through python-escpos.

The slip is drawn as one picture (Pillow) and sent as a raster image (``GS v 0``), which
every ESC/POS printer prints the same way: no code page or Chinese font in the printer is
needed, the text can be as large as elderly eyes need, and the QR code's modules are whole
printer dots (six dots = 0.75 mm at 203 dpi on a 58 mm printer), large enough for the
cameras and scanners of ``docs/readers.md``.

The printer is a setting (``[printer].device``):

- ``""`` or ``none`` — no printer: the slip stays on the screen until staff dismiss it
- ``usb:<vendor>:<product>`` — e.g. ``usb:0x0416:0x5011`` (the usual Xprinter/Gprinter ids)
- ``serial:<device>[:<baud>]`` — e.g. ``serial:/dev/ttyUSB0:9600``
- ``file:<device>`` — a printer's character device, e.g. ``file:/dev/usb/lp0``
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from kiosk.errors import PrinterUnavailable

log = logging.getLogger(__name__)

FONT_FILE = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"  # Debian fonts-wqy-microhei
WIDTHS = {58: 384, 80: 576}  # paper width in mm → printable dots at 203 dpi


@dataclass(frozen=True)
class SlipText:
    """What the slip says, in the resident's language (the caller picks the words)."""

    title: str  # 临时学习凭条
    learner: str  # the temporary id, printed large so staff can type it
    lines: tuple[str, ...]  # venue, valid until, what to do next
    qr_text: str  # LCT1:… (records.slip)


def render(slip: SlipText, width: int = WIDTHS[58]) -> Any:
    """The slip as a 1-bit Pillow image ``width`` dots wide."""
    import qrcode
    from PIL import Image, ImageDraw, ImageFont

    def font(size: int) -> Any:
        try:
            return ImageFont.truetype(FONT_FILE, size)
        except OSError:  # no CJK font: the Chinese would be boxes; say so rather than print junk
            raise PrinterUnavailable("打印字体缺失，请安装 fonts-wqy-microhei",
                                     "the slip font is missing: install fonts-wqy-microhei",
                                     code="printer-font") from None

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=1)
    code.add_data(slip.qr_text)
    code.make(fit=True)
    modules = code.modules_count + 2 * code.border
    box = max(4, (width - 16) // modules)  # whole dots per module
    qr = code.make_image(fill_color="black", back_color="white").get_image().convert("1")
    qr = qr.resize((modules * box, modules * box), Image.NEAREST)

    title, big, small = font(40), font(44), font(28)
    rows: list[tuple[str, Any]] = [(slip.title, title), (slip.learner, big)] + [(line, small) for line in slip.lines]
    heights = [f.getbbox(text)[3] + 14 for text, f in rows]
    image = Image.new("1", (width, sum(heights) + qr.height + 24), 1)
    draw = ImageDraw.Draw(image)
    y = 0
    for (text, f), h in zip(rows, heights, strict=True):
        w = draw.textlength(text, font=f)
        draw.text((max(0, (width - w) / 2), y), text, font=f, fill=0)
        y += h
    image.paste(qr, ((width - qr.width) // 2, y + 12))
    return image


def open_printer(device: str) -> Any | None:
    """A python-escpos printer for the ``[printer].device`` setting; None for no printer."""
    device = device.strip()
    if device in ("", "none"):
        return None
    kind, _, rest = device.partition(":")
    try:
        from escpos import printer

        if kind == "usb":
            vendor, _, product = rest.partition(":")
            return printer.Usb(int(vendor, 16), int(product, 16))
        if kind == "serial":
            path, _, baud = rest.partition(":")
            return printer.Serial(path, baudrate=int(baud or 9600))
        if kind == "file":
            return printer.File(rest)
    except ValueError as err:
        raise PrinterUnavailable(f"打印机设置有误：{device}", f"the printer setting is wrong: {device!r}",
                                 code="printer-setting") from err
    except Exception as err:  # python-escpos raises its own and OS errors when a device is absent  # noqa: BLE001
        raise PrinterUnavailable("打印机没有连接或无法打开，凭条留在屏幕上",
                                 f"the printer cannot be opened ({err}); the slip stays on screen",
                                 code="printer-unavailable") from err
    raise PrinterUnavailable(f"打印机设置有误：{device}",
                             f"the printer setting {device!r} is not usb:…, serial:… or file:…",
                             code="printer-setting")


class SlipPrinter:
    """Prints slips on one python-escpos printer (passed in: ``Dummy`` in tests)."""

    def __init__(self, printer: Any, paper_mm: int = 58) -> None:
        if paper_mm not in WIDTHS:
            raise PrinterUnavailable("纸宽只能是 58 或 80 毫米", "paper width must be 58 or 80 mm",
                                     code="printer-setting")
        self.printer = printer
        self.width = WIDTHS[paper_mm]

    def print_slip(self, slip: SlipText) -> None:
        image = render(slip, self.width)
        try:
            self.printer.image(image, impl="bitImageRaster", center=False)
            self.printer.cut()
        except Exception as err:  # out of paper, unplugged mid-print: the slip stays on screen  # noqa: BLE001
            raise PrinterUnavailable("凭条没有打印出来，请看屏幕上的号码",
                                     f"the slip was not printed ({err}); read the code on the screen",
                                     code="printer-failed") from err
        log.info("printed a walk-in slip")
