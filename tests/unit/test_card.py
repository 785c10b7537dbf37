"""The card credential: issue, encode for NFC and QR, verify; pycose and ndeflib agree."""

from __future__ import annotations

import os

import cbor2
import ndef as ndeflib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycose.keys import OKPKey
from pycose.messages import Sign1Message

from records import card, ids, keys
from records import ndef as our_ndef
from records.encoding import b45decode, b45encode
from records.errors import (
    BadSignature,
    CardRefused,
    InvalidLearnerCode,
    MalformedCredential,
    MalformedError,
    WrongIssuer,
)
from tests.support.county import TestCounty


@pytest.fixture
def c() -> TestCounty:
    return TestCounty(county_id="county-3301")


class TestIssueVerify:
    def test_round_trip(self, c: TestCounty) -> None:
        cred = c.credential()
        assert cred == card.verify(c.card_bytes(cred), {c.county_id: c.issuer.public_key()})

    def test_another_issuer_is_refused(self, c: TestCounty) -> None:
        other = TestCounty(county_id="county-9999")
        data = other.card_bytes(other.credential())
        with pytest.raises(WrongIssuer) as err:
            card.verify(data, {c.county_id: c.issuer.public_key()})
        assert "unknown-issuer" == err.value.reason

    def test_same_county_name_other_key_is_forged(self, c: TestCounty) -> None:
        impostor = TestCounty(county_id=c.county_id)
        with pytest.raises(BadSignature) as err:
            card.verify(impostor.card_bytes(impostor.credential()), {c.county_id: c.issuer.public_key()})
        assert "forged" == err.value.reason

    def test_revoked_and_expired(self, c: TestCounty) -> None:
        cred = c.credential(expires=2_000)
        with pytest.raises(CardRefused) as err:
            card.check_usable(cred, {cred.card_id}, now_unix=1_000)
        assert "revoked" == err.value.reason
        with pytest.raises(CardRefused) as err:
            card.check_usable(cred, set(), now_unix=2_000)
        assert "expired" == err.value.reason
        card.check_usable(cred, set(), now_unix=1_999)

    def test_staff_role_and_groups(self, c: TestCounty) -> None:
        cred = c.credential(staff=True, groups=card.groups_mask(["elder", "disabled"]))
        got = card.verify(c.card_bytes(cred), {c.county_id: c.issuer.public_key()})
        assert got.staff
        assert ["elder", "disabled"] == got.group_names

    def test_no_kid_in_header_and_integer_claims(self, c: TestCounty) -> None:
        """The contract: no kid, integer claim keys, private claims negative."""
        tag = cbor2.loads(c.card_bytes(c.credential()))
        assert 18 == tag.tag
        protected = cbor2.loads(tag.value[0])
        assert {1: -8} == protected
        claims = cbor2.loads(tag.value[2])
        assert all(isinstance(k, int) for k in claims)
        assert {1, 6, -1, -2} <= set(claims)


class TestSizes:
    def test_without_name_fits_ntag213(self, c: TestCounty) -> None:
        """A resident's card, worst case without the name: all groups, expiry, a 13-digit code."""
        cred = c.credential(name=None, groups=15, expires=4_102_444_800, learner=9_999_999_999_994)
        tlv = our_ndef.type2_tlv(card.to_ndef(c.card_bytes(cred)))
        assert len(tlv) <= our_ndef.NTAG213_BYTES, len(tlv)

    def test_a_staff_card_with_its_pin_secret_fits_ntag215(self, c: TestCounty) -> None:
        """Staff cards carry 16 more bytes (the PIN secret, claim -6): an NTAG215, worst case
        with every optional claim and a long masked name."""
        cred = c.credential(name="欧阳*明", staff=True, groups=15, expires=4_102_444_800,
                            learner=9_999_999_999_994)
        assert cred.staff_secret is not None and 16 == len(cred.staff_secret)
        data = c.card_bytes(cred)
        assert cred.staff_secret == card.verify(data, {c.county_id: c.issuer.public_key()}).staff_secret
        assert cred.staff_secret.hex() not in repr(cred)
        assert "NTAG215" == our_ndef.smallest_ntag(card.to_ndef(data))

    def test_with_a_masked_name_which_tag(self, c: TestCounty) -> None:
        cred = c.credential(name="欧阳*明", groups=15)
        message = card.to_ndef(c.card_bytes(cred))
        assert our_ndef.smallest_ntag(message) in ("NTAG213", "NTAG215")


class TestIndependentDecoders:
    def test_pycose_verifies_our_credential(self, c: TestCounty) -> None:
        data = c.card_bytes(c.credential())
        msg = Sign1Message.decode(data)
        msg.key = OKPKey(crv="Ed25519", x=c.issuer.public_key().public_bytes_raw())
        assert msg.verify_signature()
        claims = cbor2.loads(msg.payload)
        assert c.county_id == claims[1]

    def test_pycose_refuses_a_changed_claim(self, c: TestCounty) -> None:
        cred = c.credential()
        tag = cbor2.loads(c.card_bytes(cred))
        claims = dict(cbor2.loads(tag.value[2]))
        claims[-1] = cred.learner + 1
        forged = cbor2.dumps(cbor2.CBORTag(18, [tag.value[0], {}, cbor2.dumps(claims), tag.value[3]]))
        msg = Sign1Message.decode(forged)
        msg.key = OKPKey(crv="Ed25519", x=c.issuer.public_key().public_bytes_raw())
        assert not msg.verify_signature()
        with pytest.raises(BadSignature):
            card.verify(forged, {c.county_id: c.issuer.public_key()})

    def test_ndeflib_decodes_our_ndef_record(self, c: TestCounty) -> None:
        data = c.card_bytes(c.credential())
        (rec,) = list(ndeflib.message_decoder(card.to_ndef(data)))
        assert "urn:nfc:ext:lcard:1" == rec.type
        assert data == rec.data
        assert len(our_ndef.CARD_RECORD_TYPE) <= 7

    def test_we_decode_ndeflib_messages(self, c: TestCounty) -> None:
        data = c.card_bytes(c.credential())
        other = ndeflib.TextRecord("hello")
        ours = ndeflib.Record("urn:nfc:ext:lcard:1", "", data)
        message = b"".join(ndeflib.message_encoder([other, ours]))
        assert data == card.from_ndef(message)


class TestBadCardInput:
    @pytest.mark.parametrize("text", ["", "hello", "HC1:6BFOXN", "LC1:", "LC1:###", "LC1:A"])
    def test_malformed_qr_text(self, text: str, c: TestCounty) -> None:
        with pytest.raises(MalformedCredential):
            card.verify(card.from_qr_text(text), {c.county_id: c.issuer.public_key()})

    def test_truncated_ndef(self, c: TestCounty) -> None:
        message = card.to_ndef(c.card_bytes(c.credential()))
        with pytest.raises(MalformedCredential) as err:
            card.from_ndef(message[:40])
        assert "truncated" == err.value.reason

    def test_foreign_and_empty_ndef(self) -> None:
        foreign = b"".join(ndeflib.message_encoder([ndeflib.UriRecord("https://example.org")]))
        with pytest.raises(MalformedCredential) as err:
            card.from_ndef(foreign)
        assert "foreign-ndef" == err.value.reason
        with pytest.raises(MalformedCredential) as err:
            card.from_ndef(b"")
        assert "no-ndef" == err.value.reason

    def test_truncated_credential_in_whole_record(self, c: TestCounty) -> None:
        data = c.card_bytes(c.credential())
        with pytest.raises(MalformedCredential):
            card.verify(card.from_ndef(card.to_ndef(data[:-10])), {c.county_id: c.issuer.public_key()})


class TestLearnerCodes:
    def test_check_digit_round_trip(self) -> None:
        code = ids.learner_code(123_456_789_012)
        assert 13 == len(code)
        assert int(code) == ids.parse_learner_code(code)
        assert int(code) == ids.parse_learner_code(f"{code[:4]} {code[4:8]}-{code[8:]}")

    def test_wrong_check_digit(self) -> None:
        code = ids.learner_code(123_456_789_012)
        wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
        with pytest.raises(InvalidLearnerCode, match="check digit"):
            ids.parse_learner_code(wrong)

    @settings(max_examples=200)
    @given(body=st.integers(min_value=0, max_value=10**12 - 1), pos=st.integers(0, 11),
           delta=st.integers(1, 9))
    def test_any_single_digit_error_is_caught(self, body: int, pos: int, delta: int) -> None:
        code = ids.learner_code(body)
        digits = list(code)
        digits[pos] = str((int(digits[pos]) + delta) % 10)
        with pytest.raises(InvalidLearnerCode):
            ids.parse_learner_code("".join(digits))

    def test_wrong_length(self) -> None:
        with pytest.raises(InvalidLearnerCode):
            ids.parse_learner_code("12345")


class TestBase45:
    def test_rfc9285_vectors(self) -> None:
        assert "BB8" == b45encode(b"AB")
        assert "%69 VD92EX0" == b45encode(b"Hello!!")
        assert "UJCLQE7W581" == b45encode(b"base-45")
        assert b"ietf!" == b45decode("QED8WEX0")

    @given(st.binary(max_size=300))
    def test_round_trip(self, data: bytes) -> None:
        assert data == b45decode(b45encode(data))

    @pytest.mark.parametrize("text", ["GGW", "a", "ZZZZ", "%%"])
    def test_bad_text(self, text: str) -> None:
        with pytest.raises(MalformedError):
            b45decode(text)


def test_mask_name() -> None:
    assert "王*明" == card.mask_name("王小明")
    assert "李*" == card.mask_name("李四")
    assert "欧**明" == card.mask_name("欧阳小明")


def test_public_key_text_round_trip() -> None:
    k = keys.private_key_from_seed(os.urandom(32))
    assert keys.public_key_text(k) == keys.public_key_text(keys.public_key_from_text(keys.public_key_text(k)))
