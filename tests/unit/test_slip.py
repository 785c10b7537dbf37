"""The walk-in slip: a kiosk-signed credential any kiosk of the county verifies offline."""

from __future__ import annotations

import cbor2
import pytest
from pycose.keys import OKPKey
from pycose.messages import Sign1Message

from records import county, slip
from tests.support.county import NOW, TestCounty

T0 = int(NOW.timestamp())


def make(c: TestCounty, kiosk: str = "k-test-1", *, days: int = 90, learner: str = "T830328509613") -> bytes:
    s = slip.Slip(c.county_id, f"{kiosk}/1", learner, "v-test", T0, T0 + days * 86400)
    return slip.issue(s, c.kiosk_key(kiosk))


def key_for(c: TestCounty, kiosks: dict[str, str], revoked: tuple[str, ...] = ()):  # noqa: ANN202
    return county.Registry(c.registry(kiosks, revoked=revoked)).key_for


class TestSlip:
    def test_another_kiosk_of_the_county_verifies_it(self) -> None:
        """A slip made at kiosk A verifies with the registry alone at kiosk B."""
        c = TestCounty()
        data = make(c, "k-a")
        got = slip.verify(slip.from_qr_text(slip.to_qr_text(data)), c.county_id,
                          key_for(c, {"k-a": "v-a", "k-b": "v-b"}), T0 + 3600)
        assert ("T830328509613", "k-a", "v-test") == (got.learner, got.kiosk, got.venue)

    def test_pycose_verifies_it_with_the_kiosk_key(self) -> None:
        """An independent COSE library reads the slip and its kid."""
        c = TestCounty()
        msg = Sign1Message.decode(make(c))
        msg.key = OKPKey(crv="Ed25519", x=c.kiosk_key("k-test-1").public_key().public_bytes_raw())
        assert msg.verify_signature()
        assert b"k-test-1/1" in msg.phdr.values()
        assert "T830328509613" == cbor2.loads(msg.payload)[slip.CLAIM_TEMP]

    def test_a_changed_id_is_forged(self) -> None:
        c = TestCounty()
        tag = cbor2.loads(make(c))
        claims = dict(cbor2.loads(tag.value[2]))
        claims[slip.CLAIM_TEMP] = "T000000000001"
        forged = cbor2.dumps(cbor2.CBORTag(18, [tag.value[0], {}, cbor2.dumps(claims), tag.value[3]]))
        with pytest.raises(slip.SlipRefused) as err:
            slip.verify(forged, c.county_id, key_for(c, {"k-test-1": "v-test"}), T0)
        assert "slip-forged" == err.value.reason

    def test_expired(self) -> None:
        c = TestCounty()
        with pytest.raises(slip.SlipRefused) as err:
            slip.verify(make(c, days=1), c.county_id, key_for(c, {"k-test-1": "v-test"}), T0 + 86400)
        assert "slip-expired" == err.value.reason
        assert "过期" in str(err.value)

    def test_unknown_or_revoked_kiosk(self) -> None:
        c = TestCounty()
        data = make(c, "k-gone")
        for kiosks, revoked in (({"k-other": "v"}, ()), ({"k-gone": "v"}, ("k-gone",))):
            with pytest.raises(slip.SlipRefused) as err:
                slip.verify(data, c.county_id, key_for(c, kiosks, revoked), T0)
            assert "slip-unknown-kiosk" == err.value.reason

    def test_another_county(self) -> None:
        c = TestCounty()
        with pytest.raises(slip.SlipRefused) as err:
            slip.verify(make(c), "county-elsewhere", key_for(c, {"k-test-1": "v"}), T0)
        assert "slip-other-county" == err.value.reason

    def test_version_one_code_and_junk(self) -> None:
        """The old unsigned `LCT:T…` code and damaged text each get their own reason."""
        for text, reason in (("LCT:T830328509613", "slip-unsigned"), ("LCT1:%%%", "slip-malformed"),
                             ("LCT1:" + "0" * 20, "slip-malformed")):
            with pytest.raises(slip.SlipRefused) as err:
                slip.verify(slip.from_qr_text(text), "c", lambda kid: None, T0)  # type: ignore[arg-type,return-value]
            assert reason == err.value.reason, text

    def test_refuses_to_make_a_bad_slip(self) -> None:
        c = TestCounty()
        with pytest.raises(ValueError):
            make(c, learner="3301000000071")
        with pytest.raises(ValueError):
            make(c, days=0)

    def test_fits_a_small_qr_code(self) -> None:
        """The slip's QR text fits a version-8 code at level M (≤ 221 alphanumeric characters),
        the size of a learning card's own QR code, which the readers are tested with."""
        assert len(slip.to_qr_text(make(TestCounty()))) <= 221
