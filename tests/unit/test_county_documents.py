"""The county's signed documents: registry, revocation list, staff roster; PIN hashes."""

from __future__ import annotations

import hashlib
import os

import pytest

from records import county, keys
from records.errors import BadSignature, MalformedRecord, UnknownKey, VerificationError, WrongIssuer
from tests.support.county import TestCounty


class TestDocuments:
    def test_registry_round_trip_and_key_lookup(self, county: TestCounty) -> None:
        doc = county.registry({"k-one": "v-one"})
        got = county_verify(county, doc.token, "registry")
        reg = county_registry(got)
        assert keys.public_key_text(county.kiosk_key("k-one")) == keys.public_key_text(reg.key_for("k-one/1"))
        assert "v-one" == reg.venue_of("k-one")

    def test_unknown_and_revoked_kiosks(self, county: TestCounty) -> None:
        reg = county_registry(county.registry({"k-one": "v", "k-two": "v"}, revoked=("k-two",)))
        with pytest.raises(UnknownKey):
            reg.key_for("k-three/1")
        with pytest.raises(UnknownKey):
            reg.key_for("k-one/2")
        with pytest.raises(VerificationError) as err:
            reg.key_for("k-two/1")
        assert "revoked-kiosk" == err.value.reason

    def test_bad_signature(self, county: TestCounty) -> None:
        impostor = TestCounty(county_id=county.county_id)
        doc = impostor.revocations(["00" * 8])
        with pytest.raises(BadSignature):
            county_verify(county, doc.token, "revoked-cards")

    def test_wrong_kind_and_other_county(self, county: TestCounty) -> None:
        doc = county.staff_roster([])
        with pytest.raises(MalformedRecord):
            county_verify(county, doc.token, "registry")
        other = TestCounty(county_id="county-else", issuer=county.issuer)
        with pytest.raises(WrongIssuer):
            county_verify(county, other.staff_roster([]).token, "staff")

    def test_only_newer_versions_replace(self, county: TestCounty) -> None:
        v1, v2 = county.revocations([], version=1), county.revocations(["ab" * 8], version=2)
        assert county_newer(None, v1)
        assert county_newer(v1, v2)
        assert not county_newer(v2, v1)
        assert not county_newer(v2, v2)
        assert frozenset({"ab" * 8}) == county_revoked(v2)


def county_verify(c: TestCounty, token: str, kind: str) -> county.Document:
    return county.verify_document(token, c.issuer.public_key(), kind, c.county_id)


def county_registry(doc: county.Document) -> county.Registry:
    return county.Registry(doc)


def county_newer(a: county.Document | None, b: county.Document) -> bool:
    return county.newer(a, b)


def county_revoked(doc: county.Document) -> frozenset[str]:
    return county.revoked_cards(doc)


class TestPins:
    SECRET = bytes(range(16))

    def test_right_and_wrong_pin_with_the_card_secret(self) -> None:
        stored = county.hash_pin("4821", self.SECRET, os.urandom(16), n=2**10)
        assert county.check_pin("4821", self.SECRET, stored)
        assert not county.check_pin("4822", self.SECRET, stored)
        assert "4821" not in stored and self.SECRET.hex() not in stored

    def test_the_pin_alone_never_verifies(self) -> None:
        """What a stolen kiosk holds: the roster, not the card. Every PIN fails without the
        card's secret, and with any other secret."""
        stored = county.hash_pin("4821", self.SECRET, os.urandom(16), n=2**10)
        assert not county.check_pin("4821", None, stored)
        assert not county.check_pin("4821", b"", stored)
        assert not county.check_pin("4821", bytes(16), stored)
        salt, digest = stored.split("$")[4:]
        assert digest != hashlib.scrypt(b"4821", salt=bytes.fromhex(salt), n=2**10, r=8, p=1, dklen=32).hex()

    def test_a_short_secret_is_refused(self) -> None:
        with pytest.raises(ValueError, match="16 bytes"):
            county.hash_pin("4821", b"short", os.urandom(16), n=2**10)

    def test_salted(self) -> None:
        assert (county.hash_pin("4821", self.SECRET, b"a" * 16, n=2**10)
                != county.hash_pin("4821", self.SECRET, b"b" * 16, n=2**10))

    def test_the_old_pin_only_form_is_recognised_and_never_matches(self) -> None:
        salt = b"s" * 16
        old = hashlib.scrypt(b"4821", salt=salt, n=2**10, r=8, p=1, dklen=32).hex()
        stored = f"scrypt$1024$8$1${salt.hex()}${old}"
        assert county.OLD_PIN_SCHEME == county.pin_scheme(stored)
        assert not county.check_pin("4821", self.SECRET, stored)

    @pytest.mark.parametrize("stored", ["", "plain", "md5$x$y", "scrypt-card$x$8$1$00$00"])
    def test_garbage_hash_never_matches(self, stored: str) -> None:
        assert not county.check_pin("4821", self.SECRET, stored)
