"""NTAG 424 DNA SUN messages, checked against NXP's published examples: AN12196 (SUN message
with all-zero keys: PICCData, session MAC key, SDMMAC) and AN10922 (AES-128 key
diversification). The vectors are NXP's, as published in those application notes."""

from __future__ import annotations

import os

import pytest

from records import sun
from records.errors import SunError

ZERO = bytes(16)


class TestAn12196:
    """AN12196 §3.4.2 / tables 2 and 4: e = EF963F…, c = 94EED9EE65337086 with all-zero keys."""

    E = bytes.fromhex("EF963FF7828658A599F3041510671E88")
    UID = bytes.fromhex("04DE5F1EACC040")

    def test_picc_data_decrypts_to_uid_and_counter(self) -> None:
        assert (self.UID, 61) == sun.decrypt_picc(ZERO, self.E)

    def test_session_keys(self) -> None:
        assert bytes.fromhex("3FB5F6E3A807A03D5E3570ACE393776F") == sun.session_mac_key(ZERO, self.UID, 61)
        assert bytes.fromhex("DF38382B84FB90D2DDDB24E51AAFF7AC") == sun.session_enc_key(ZERO, self.UID, 61)

    def test_sdm_mac_is_the_odd_bytes_of_the_cmac(self) -> None:
        full = sun.cmac(sun.session_mac_key(ZERO, self.UID, 61), b"")
        assert bytes.fromhex("E194C7EE12D9F7EE8A65C8331B704386") == full
        assert bytes.fromhex("94EED9EE65337086") == sun.sdm_mac(ZERO, self.UID, 61)

    def test_encrypting_gives_back_the_published_e(self) -> None:
        assert self.E == sun.encrypt_picc(ZERO, self.UID, 61, bytes.fromhex("DA5CF60941"))


def test_an10922_aes128_diversification() -> None:
    """AN10922 §2.2.1: M = UID 04782E21801D80 ‖ AID 3042F5 ‖ system identifier "NXP Abu"."""
    master = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
    m = bytes.fromhex("04782E21801D80") + bytes.fromhex("3042F5") + b"NXP Abu"
    assert bytes.fromhex("A8DD63A3B89D54B37CA802473FDA9175") == sun.diversify(master, m)


def test_diversification_input_is_1_to_31_bytes() -> None:
    with pytest.raises(SunError):
        sun.diversify(ZERO, bytes(32))


class TestCountyCards:
    MASTER = bytes(range(16))
    COUNTY = "county-3301"

    def message(self, uid: bytes, counter: int, master: bytes | None = None) -> sun.Sun:
        master = master or self.MASTER
        e = sun.encrypt_picc(sun.meta_read_key(master, self.COUNTY), uid, counter, os.urandom(5))
        c = sun.sdm_mac(sun.file_read_key(master, self.COUNTY, uid), uid, counter)
        return sun.Sun.parse(e.hex(), c.hex())

    def test_a_tap_verifies_and_names_the_chip_without_its_uid(self) -> None:
        uid = bytes.fromhex("04A1B2C3D4E5F6")
        tap = sun.verify(self.message(uid, 7), self.MASTER, self.COUNTY)
        assert (7, sun.chip_tag(self.MASTER, uid)) == (tap.counter, tap.chip)
        assert uid.hex() not in tap.chip

    def test_a_chip_personalised_with_another_key_fails(self) -> None:
        forged = self.message(bytes.fromhex("04A1B2C3D4E5F6"), 7, master=bytes(16))
        with pytest.raises(SunError) as err:
            sun.verify(forged, self.MASTER, self.COUNTY)
        assert "bad-mac" == err.value.reason

    def test_a_changed_mac_fails(self) -> None:
        good = self.message(bytes.fromhex("04A1B2C3D4E5F6"), 7)
        bad = sun.Sun(good.e, ("0" if good.c[0] != "0" else "1") + good.c[1:])
        with pytest.raises(SunError):
            sun.verify(bad, self.MASTER, self.COUNTY)

    def test_a_copied_message_replays_its_counter(self) -> None:
        """The cloned-card case: a copy of one read's NDEF shows the same counter forever."""
        copied = sun.verify(self.message(bytes.fromhex("04A1B2C3D4E5F6"), 12), self.MASTER, self.COUNTY)
        assert "ok" == sun.judge(11, copied)
        assert "replayed" == sun.judge(12, copied)
        assert "stale" == sun.judge(15, copied)
        assert "ok" == sun.judge(None, copied)

    @pytest.mark.parametrize(("e", "c"), [("00" * 15, "00" * 8), ("zz" * 16, "00" * 8), ("00" * 16, "00" * 7)])
    def test_malformed_messages(self, e: str, c: str) -> None:
        with pytest.raises(SunError):
            sun.Sun.parse(e, c)
