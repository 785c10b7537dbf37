"""The simulated NTAG21x chip answers as the NXP datasheet says (the parts nfcpy does not use
on its own: FAST_READ, READ_SIG, rollover, NAKs, lock and OTP bytes)."""

from __future__ import annotations

import pytest

from tests.support.ntag21x import ACK, MODELS, NAK, Ntag21x, memory_image

PASSWORD = bytes.fromhex("11223344") + bytes.fromhex("abcd")


def active(model: str = "NTAG213", **kw) -> Ntag21x:
    chip = Ntag21x.of(model, memory_image(model, b"", uid=bytes.fromhex("04a1a2a3a4a5a6"), **kw))
    uid = chip.uid
    assert b"\x44\x00" == chip.answer(b"\x26")
    cl1 = chip.answer(b"\x93\x20")
    assert (b"\x88" + uid[0:3]) == cl1[0:4]
    assert b"\x04" == chip.answer(b"\x93\x70" + cl1)
    cl2 = chip.answer(b"\x95\x20")
    assert b"\x00" == chip.answer(b"\x95\x70" + cl2)
    return chip


class TestCommands:
    @pytest.mark.parametrize("model", sorted(MODELS))
    def test_get_version_names_the_product(self, model: str) -> None:
        assert MODELS[model].version == active(model).answer(b"\x60")

    def test_fast_read_and_read(self) -> None:
        chip = active()
        assert chip.memory[0:16] == chip.answer(b"\x30\x00")
        assert chip.memory[12:28] == chip.answer(b"\x3a\x03\x06")

    def test_read_rolls_over_at_the_end_and_hides_the_password(self) -> None:
        chip = active()
        last = MODELS["NTAG213"].pages - 1  # PACK's page
        answer = chip.answer(bytes([0x30, last - 1]))
        assert b"\x00" * 8 + chip.memory[0:8] == answer  # PWD and PACK read as zeros, then page 0

    def test_fast_read_past_the_end_is_refused(self) -> None:
        assert NAK == active().answer(b"\x3a\x2a\x2d")

    def test_read_sig_is_32_bytes(self) -> None:
        assert 32 == len(active().answer(b"\x3c\x00"))

    def test_unknown_command_naks_and_the_chip_falls_idle(self) -> None:
        chip = active()
        assert NAK == chip.answer(b"\x1a\x00")  # MIFARE Ultralight C's AUTHENTICATE
        assert chip.answer(b"\x30\x00") is None  # no longer selected

    def test_halt_answers_nothing_and_only_wupa_wakes(self) -> None:
        chip = active()
        assert chip.answer(b"\x50\x00") is None
        assert chip.answer(b"\x26") is None
        assert b"\x44\x00" == chip.answer(b"\x52")


class TestProtection:
    def test_read_protected_pages_need_pwd_auth(self) -> None:
        chip = active(password=PASSWORD, read_protect=True)
        assert NAK == chip.answer(b"\x30\x04")
        chip = active(password=PASSWORD, read_protect=True)
        assert chip.answer(b"\x30\x00") is not None  # pages below AUTH0 stay readable
        assert NAK == chip.answer(b"\x1b" + bytes(4))  # wrong password
        chip = active(password=PASSWORD, read_protect=True)
        assert PASSWORD[4:6] == chip.answer(b"\x1b" + PASSWORD[0:4])  # PACK
        assert 16 == len(chip.answer(b"\x30\x04"))

    def test_write_protected_pages_refuse_writes_without_auth(self) -> None:
        chip = active(password=PASSWORD)
        assert NAK == chip.answer(b"\xa2\x04" + b"abcd")
        chip = active(password=PASSWORD)
        chip.answer(b"\x1b" + PASSWORD[0:4])
        assert ACK == chip.answer(b"\xa2\x04" + b"abcd")

    def test_lock_bits_are_one_way_and_lock_their_pages(self) -> None:
        chip = active()
        assert ACK == chip.answer(b"\xa2\x02" + b"\x00\x00\xf0\x00")  # locks pages 4–7
        assert ACK == chip.answer(b"\xa2\x02" + b"\x00\x00\x00\x00")  # clearing does nothing
        assert 0xF0 == chip.memory[10]
        assert ACK == chip.answer(b"\xa2\x08" + b"abcd")  # page 8 is not locked
        assert NAK == chip.answer(b"\xa2\x05" + b"abcd")

    def test_capability_container_is_one_time_programmable(self) -> None:
        chip = active(formatted=False)
        assert ACK == chip.answer(b"\xa2\x03" + b"\xe1\x10\x12\x00")
        assert ACK == chip.answer(b"\xa2\x03" + b"\x00\x00\x00\x0f")
        assert b"\xe1\x10\x12\x0f" == chip.page(3)

    def test_dynamic_lock_bits_lock_pages_from_16(self) -> None:
        chip = active()
        dyn = MODELS["NTAG213"].cfg - 1
        assert ACK == chip.answer(bytes([0xA2, dyn]) + b"\x01\x00\x00\x00")  # pages 16–17
        assert ACK == chip.answer(b"\xa2\x12" + b"abcd")  # page 18 is not locked
        assert NAK == chip.answer(b"\xa2\x11" + b"abcd")
