"""The signed record: build, sign, verify, and independent verification with jwcrypto."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jwcrypto import jwk
from jwcrypto import jws as jjws

from records import jws, keys, record
from records.encoding import b64url, b64url_decode
from records.errors import BadSignature, MalformedRecord, UnknownKey
from records.ids import uuid7

KEY = keys.private_key_from_seed(bytes(range(32)))
ORIGIN = record.Origin(kiosk="k-test-1", venue="v-test", key_version=1, bootid="boot-a")
CST = timezone(timedelta(hours=8))


def make(seq: int = 1, prev: str = "", data: dict | None = None, **kw) -> record.Record:
    event = record.build(
        origin=kw.pop("origin", ORIGIN),
        record_type=kw.pop("record_type", "rating"),
        data=data if data is not None else {"learner": "1000000000009", "session_id": None, "score": 4},
        record_id=uuid7(1_763_900_000_000 + seq, os.urandom(10)),
        time=kw.pop("time", datetime(2026, 11, 23, 9, 2, tzinfo=CST)),
        mono_ns=kw.pop("mono_ns", 123_456_789),
        clock=kw.pop("clock", "unset"),
        epoch=kw.pop("epoch", 1),
        seq=seq,
        prev=prev,
    )
    return record.sign(event, KEY, ORIGIN.kid)


def key_for(kid: str):
    if kid == ORIGIN.kid:
        return KEY.public_key()
    raise UnknownKey(f"no key {kid}")


class TestBuildAndSign:
    def test_round_trip(self) -> None:
        """A signed record verifies and gives back the same event."""
        rec = make()
        got = record.verify(rec.token, key_for)
        assert rec.event == got.event
        assert "rating" == got.type
        assert "k-test-1" == got.kiosk

    def test_attributes_follow_the_contract(self) -> None:
        """CloudEvent attributes are as record.md says: mono a string, type and source named."""
        ev = make().event
        assert "1.0" == ev["specversion"]
        assert "urn:learncard:kiosk:k-test-1" == ev["source"]
        assert "cn.learncard.rating.v1" == ev["type"]
        assert "123456789" == ev["mono"]
        assert "2026-11-23T09:02:00.000+08:00" == ev["time"]
        assert 7 == uuid.UUID(ev["id"]).version

    def test_header_names_kiosk_and_key_version(self) -> None:
        """The protected header carries alg EdDSA and kid <kiosk>/<version>."""
        header = orjson.loads(b64url_decode(make().token.split(".")[0]))
        assert "EdDSA" == header["alg"]
        assert "k-test-1/1" == header["kid"]

    def test_payload_bytes_are_the_stored_bytes(self) -> None:
        """The payload is exactly the sorted compact JSON that was signed, never re-made."""
        rec = make()
        payload = b64url_decode(rec.token.split(".")[1])
        assert orjson.dumps(rec.event, option=orjson.OPT_SORT_KEYS) == payload

    def test_naive_time_is_refused(self) -> None:
        with pytest.raises(ValueError, match="offset"):
            make(time=datetime(2026, 11, 23, 9, 2))

    def test_floats_are_refused(self) -> None:
        with pytest.raises(ValueError, match="float"):
            make(data={"learner": "1000000000009", "session_id": None, "score": 4.5})

    def test_unknown_type_is_refused(self) -> None:
        with pytest.raises(ValueError, match="unknown record type"):
            make(record_type="attendance.teleport")


class TestVerifyRaises:
    def test_other_key_raises_bad_signature(self) -> None:
        other = keys.private_key_from_seed(os.urandom(32))
        with pytest.raises(BadSignature):
            record.verify(make().token, lambda kid: other.public_key())

    def test_unknown_kid_raises(self) -> None:
        rec = make()
        with pytest.raises(UnknownKey):
            record.verify(rec.token, lambda kid: key_for("nobody/1"))

    def test_source_must_match_kid(self) -> None:
        """A kiosk cannot sign records claiming another kiosk as source."""
        other_origin = record.Origin("k-other", "v-test", 1, "b")
        event = record.build(origin=other_origin, record_type="kiosk.checkpoint",
                             data={"pending": 0, "journal_bytes": 0}, record_id=uuid.uuid4(),
                             time=datetime.now(UTC), mono_ns=1, clock="ntp", epoch=1, seq=1, prev="")
        rec = record.sign(event, KEY, ORIGIN.kid)
        with pytest.raises(MalformedRecord, match="another kiosk"):
            record.verify(rec.token, key_for)

    @pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "!!.??.**", "e30.e30.AAAA"])
    def test_malformed_tokens(self, token: str) -> None:
        with pytest.raises(MalformedRecord):
            record.verify(token, key_for)

    def test_other_alg_refused(self) -> None:
        """alg none or HS256 are never accepted, whatever the signature."""
        rec = make()
        _h, p, s = rec.token.split(".")
        for alg in ("none", "HS256"):
            forged = b64url(orjson.dumps({"alg": alg, "kid": ORIGIN.kid})) + "." + p + "." + s
            with pytest.raises(MalformedRecord):
                record.verify(forged, key_for)

    def test_signed_non_event_is_malformed(self) -> None:
        token = jws.sign(b'{"hello": 1}', KEY, {"kid": ORIGIN.kid})
        with pytest.raises(MalformedRecord, match="missing"):
            record.verify(token, key_for)


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_any_changed_byte_fails(position: int, flip: int) -> None:
    """Changing any one byte of a record's compact form makes verification fail."""
    token = make().token.encode("ascii")
    i = position % len(token)
    changed = token[:i] + bytes([token[i] ^ flip]) + token[i + 1 :]
    with pytest.raises((BadSignature, MalformedRecord, UnknownKey)):
        record.verify(changed, key_for)


@settings(max_examples=100, deadline=None)
@given(
    score=st.integers(min_value=1, max_value=5),
    seq=st.integers(min_value=1, max_value=2**31 - 1),
    mono=st.integers(min_value=0, max_value=2**63),
    clock=st.sampled_from(record.CLOCK_STATES),
)
def test_round_trip_property(score: int, seq: int, mono: int, clock: str) -> None:
    """Whatever the values, sign → verify gives the same event back."""
    rec = make(seq=seq, data={"learner": "1000000000009", "session_id": None, "score": score},
               mono_ns=mono, clock=clock)
    assert rec.event == record.verify(rec.token, key_for).event


class TestIndependentJose:
    def test_jwcrypto_verifies_our_records(self) -> None:
        """A standard JOSE library verifies a record with the kiosk's public JWK."""
        rec = make()
        token = jjws.JWS()
        token.deserialize(rec.token)
        token.verify(jwk.JWK(**keys.public_key_jwk(KEY, ORIGIN.kid)))
        assert rec.event == orjson.loads(token.payload)

    def test_jwcrypto_refuses_a_tampered_record(self) -> None:
        rec = make()
        h, p, s = rec.token.split(".")
        event = dict(rec.event, seq=99)
        tampered = h + "." + b64url(orjson.dumps(event, option=orjson.OPT_SORT_KEYS)) + "." + s
        token = jjws.JWS()
        token.deserialize(tampered)
        with pytest.raises(jjws.InvalidJWSSignature):
            token.verify(jwk.JWK(**keys.public_key_jwk(KEY, ORIGIN.kid)))

    def test_we_verify_what_jwcrypto_signs(self) -> None:
        """Our verifier accepts a record signed by another JOSE implementation."""
        rec = make()
        payload = rec.token.split(".")[1]
        private = jwk.JWK.from_pem(keys.private_key_to_pem(KEY))
        token = jjws.JWS(b64url_decode(payload))
        token.add_signature(private, None, {"alg": "EdDSA", "kid": ORIGIN.kid})
        assert rec.event == record.verify(token.serialize(compact=True), key_for).event
