"""The walk-in slip on a receipt printer: python-escpos's Dummy printer takes the real byte
stream; the QR code is decoded back from the printed raster and verifies as a slip."""

from __future__ import annotations

import pytest
import zxingcpp
from escpos.printer import Dummy

from kiosk.errors import PrinterUnavailable
from kiosk.slip_printer import SlipPrinter, SlipText, open_printer
from records import county, slip
from tests.support.county import NOW, TestCounty
from tests.support.escpos_raster import raster_image

T0 = int(NOW.timestamp())


def printed(paper_mm: int) -> tuple[bytes, str]:
    c = TestCounty()
    data = slip.issue(slip.Slip(c.county_id, "k-a/1", "T830328509613", "v-a", T0, T0 + 90 * 86400),
                      c.kiosk_key("k-a"))
    text = slip.to_qr_text(data)
    dummy = Dummy()
    SlipPrinter(dummy, paper_mm).print_slip(SlipText(
        "临时学习凭条", "T8303 2850 9613", ("城关镇社区学校", "有效期至 2027-02-21", "凭此条可在本县各学习点签到"), text))
    registry = county.Registry(c.registry({"k-a": "v-a"}))
    assert "T830328509613" == slip.verify(slip.from_qr_text(text), c.county_id, registry.key_for, T0).learner
    return dummy.output, text


class TestSlipPrinter:
    @pytest.mark.parametrize("paper_mm", [58, 80])
    def test_the_printed_qr_decodes_to_the_slip(self, paper_mm: int) -> None:
        """Decoded from the raster the printer receives, the QR is the signed slip, whole."""
        output, text = printed(paper_mm)
        image = raster_image(output)
        assert {58: 384, 80: 576}[paper_mm] == image.width
        found = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
        assert [text] == [b.text for b in found]
        assert output.endswith(b"\x1dVA\x00") or b"\x1dV" in output[-8:]  # the paper is cut

    def test_qr_modules_are_whole_dots_of_at_least_six(self) -> None:
        """On 58 mm paper a module is ≥ 6 dots (0.75 mm at 203 dpi), for the readers' cameras."""
        output, _ = printed(58)
        found = zxingcpp.read_barcodes(raster_image(output).convert("L"))
        pos = found[0].position
        side = abs(pos.top_right.x - pos.top_left.x)
        assert side >= 6 * 45  # version ≥ 7: 45+ modules across

    def test_no_printer_and_bad_settings(self) -> None:
        assert open_printer("") is None and open_printer("none") is None
        for bad in ("usb:nothex:1", "parallel:/dev/lp0"):
            with pytest.raises(PrinterUnavailable) as err:
                open_printer(bad)
            assert "printer-setting" == err.value.code

    def test_a_failing_printer_says_so(self) -> None:
        class Jammed(Dummy):
            def _raw(self, msg: bytes) -> None:
                raise OSError("out of paper")

        with pytest.raises(PrinterUnavailable) as err:
            SlipPrinter(Jammed()).print_slip(SlipText("t", "T1", (), "LCT1:X"))
        assert "printer-failed" == err.value.code and "屏幕" in err.value.zh
