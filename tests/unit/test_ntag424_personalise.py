"""NTAG 424 DNA personalisation's secure messaging, checked byte for byte against the worked
examples NXP publishes in AN12196 (AuthenticateEV2First with key 0 and key 3,
ChangeFileSettings with SDM, ChangeKey of another key and of the session's own key)."""

from __future__ import annotations

from provisioning import ntag424 as p

ZERO = bytes(16)
h = bytes.fromhex


class TestAuthenticateEv2First:
    def test_key_3(self) -> None:
        """AN12196 table 19: RndA B98F…, E(RndB) B875…; part 2, TI and both session keys."""
        rnd_a = h("B98F4C50CF1C2E084FD150E33992B048")
        apdu, rnd_b = p.auth_part2(ZERO, rnd_a, h("B875CEB0E66A6C5CD00898DC371F92D1"))
        assert h("91517975190DCEA6104948EFA3085C1B") == rnd_b
        assert h("90AF000020FF0306E47DFBC50087C4D8A78E88E62DE1E8BE457AA477C707E2F0874916A8B100") == apdu
        assert h("A55A00010080B98FDD01B6693705CEA6104948EFA3085C1B4FD150E33992B048") == p.session_vectors(rnd_a,
                                                                                                        rnd_b)[0]
        s = p.auth_finish(ZERO, rnd_a, rnd_b, h("0CC9A8094A8EEA683ECAAC5C7BF20584206D0608D477110FC6B3D5D3F65C3A6A"))
        assert (h("7614281A"), h("7A93D6571E4B180FCA6AC90C9A7488D4"), h("FC4AF159B62E549B5812394CAB1918CC")) == (
            s.ti, s.enc, s.mac)

    def test_key_0_through_an_exchange(self) -> None:
        """AN12196 table 14: the whole exchange, as the chip answered it."""
        answers = {
            "9071000002000000": "A04C124213C186F22399D33AC2A3021591AF",
            "90AF00002035C3E05A752E0144BAC0DE51C1F22C56B34408A23D8AEA266CAB947EA8E0118D00":
                "3FA64DB5446D1F34CD6EA311167F5E4985B89690C04A05F17FA7AB2F081206639100",
        }
        s = p.authenticate(lambda apdu: h(answers[apdu.hex().upper()]), 0, ZERO,
                           rnd_a=h("13C5DB8A5930439FC3DEF9A4C675360F"))
        assert (h("9D00C4DF"), h("1309C877509E5A215007FF0ED19CA564"), h("4C6626F5E72EA694202139295C7A7FC7")) == (
            s.ti, s.enc, s.mac)


def test_change_file_settings_with_sdm() -> None:
    """AN12196: SDM on file 02, PICCData at 0x20, MAC at 0x43; the C-APDU and the answer's MAC."""
    settings = p.sdm_file_settings(0x20, 0x43)
    assert h("4000E0C1F121200000430000430000") == settings
    s = p.Session(h("1309C877509E5A215007FF0ED19CA564"), h("4C6626F5E72EA694202139295C7A7FC7"), h("9D00C4DF"), 1)
    assert h("905F0000190261B6D97903566E84C3AE5274467E89EAD799B7C1A0EF7A0400") == s.wrap_full(0x5F, b"\x02", settings)
    s.counter += 1
    assert h("57BFF87B1241E93D") == s.response_mac(0x00)


class TestChangeKey:
    SESSION = (h("4CF3CB41A22583A61E89B158D252FC53"), h("5529860B2FC5FB6154B7F28361D30BF9"), h("7614281A"))

    def test_another_key(self) -> None:
        """AN12196 table 25: key 2 from zeros to F384…, version 1 (XOR with the old key, CRC)."""
        new = h("F3847D627727ED3BC9C4CC050489B966")
        assert h("789DFADC") == p.crc32(new)
        plain = p.change_key_plain(2, 0, new, ZERO, 1)
        assert h("F3847D627727ED3BC9C4CC050489B96601789DFADC8000000000000000000000") == p.pad(plain)
        s = p.Session(*self.SESSION, counter=2)
        assert h("90C4000029022CF362B7BF4311FF3BE1DAA295E8C68DE09050560D19B9E16C2393AE9CD1FAC75D0CE20BCD1D06E600") == (
            s.wrap_full(0xC4, b"\x02", plain))
        s.counter += 1
        assert h("203BB55D1089D587") == s.response_mac(0x00)

    def test_the_sessions_own_key(self) -> None:
        """AN12196 tables 26–27: key 0 to 5004…, version 1 (sent whole)."""
        s = p.Session(*self.SESSION, counter=3)
        plain = p.change_key_plain(0, 0, h("5004BF991F408672B1EF00F08F9E8647"), None, 1)
        assert h("90C400002900C0EB4DEEFEDDF0B513A03A95A75491818580503190D4D05053FF75668A01D6FDA6610234BDED643200") == (
            s.wrap_full(0xC4, b"\x00", plain))

    def test_the_chip_side_reads_back_what_was_sent(self) -> None:
        s = p.Session(*self.SESSION, counter=2)
        plain = p.change_key_plain(2, 0, h("F3847D627727ED3BC9C4CC050489B966"), ZERO, 1)
        assert (b"\x02", plain) == p.Session(*self.SESSION, counter=2).unwrap_full(s.wrap_full(0xC4, b"\x02", plain))
