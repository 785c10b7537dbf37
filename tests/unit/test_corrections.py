"""Who may correct what, and what corrections amount to (records/corrections.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from records.corrections import effective, ledger
from records.ids import learner_code
from tests.support.county import TestCounty
from tests.support.gateway import KioskChain

PURPOSE = {"county-corrections": "corrections"}.get
L1 = learner_code(123_456_789_012)


def attendance(k: KioskChain) -> tuple:
    checkin = k.next("attendance.checkin", {"learner": L1, "card": "ab" * 8, "session_id": None, "how": "nfc",
                                            "groups": []})
    checkout = k.next("attendance.checkout", {"learner": L1, "card": "ab" * 8, "session_id": None,
                                              "checkin_id": checkin.id, "checkin_time": checkin.event["time"],
                                              "seconds_present": 3600, "minutes_credited": 60, "how": "nfc"})
    return checkin, checkout


def correction(k: KioskChain, target, action: str = "void", **extra) -> object:
    data = {"target": target.id, "target_kiosk": target.kiosk, "action": action, "reason": "duplicate", **extra}
    return k.next("correction", data)


class TestWhoMayCorrect:
    def test_county_signer_amends_any_record(self) -> None:
        """The county's corrections signer may amend a record of any venue and any day."""
        county = TestCounty()
        k = KioskChain(county)
        _, checkout = attendance(k)
        signer = KioskChain(county, kiosk="county-corrections", venue="v-other", time=k.time + timedelta(days=40))
        amend = correction(signer, checkout, "amend", amended={"minutes_credited": 30})
        book = ledger([*k.made, amend], PURPOSE)
        assert {} == book.refused
        kept, voided = effective(k.made, book)
        assert (0, 30) == (voided, kept[1].data["minutes_credited"])
        assert checkout.token == kept[1].token  # the signed original, unchanged

    def test_kiosk_may_only_void(self) -> None:
        """Staff at a kiosk void; they do not amend."""
        k = KioskChain(TestCounty())
        _, checkout = attendance(k)
        amend = correction(k, checkout, "amend", staff_id="s-0001", amended={"minutes_credited": 5})
        assert {amend.id: "kiosk-may-only-void"} == ledger(k.made, PURPOSE).refused

    def test_kiosk_void_needs_staff_same_venue_same_day(self) -> None:
        """No staff id, another venue's record, or yesterday's record: no effect."""
        county = TestCounty()
        k = KioskChain(county)
        checkin, _ = attendance(k)
        no_staff = correction(k, checkin)
        other = KioskChain(county, kiosk="k-other-1", venue="v-other", time=k.time)
        elsewhere = correction(other, checkin, staff_id="s-0001")
        later = KioskChain(county, kiosk="k-test-2", time=k.time + timedelta(days=1))
        tomorrow = correction(later, checkin, staff_id="s-0001")
        book = ledger([*k.made[:2], no_staff, elsewhere, tomorrow], PURPOSE)
        assert {no_staff.id: "no-staff", elsewhere.id: "other-venue", tomorrow.id: "not-today"} == book.refused
        assert {} == book.voided

    def test_a_kiosk_cannot_claim_the_county_purpose(self) -> None:
        """A kiosk's amendment is refused even if it names itself in the body: purpose comes from the registry."""
        k = KioskChain(TestCounty(), kiosk="k-test-1")
        _, checkout = attendance(k)
        amend = correction(k, checkout, "amend", amended={"learner": learner_code(1)})
        assert "kiosk-may-only-void" == ledger(k.made, lambda _k: None).refused[amend.id]

    def test_amending_a_field_the_type_has_not(self) -> None:
        county = TestCounty()
        k = KioskChain(county)
        checkin, _ = attendance(k)
        signer = KioskChain(county, kiosk="county-corrections")
        amend = correction(signer, checkin, "amend", amended={"minutes_credited": 5})
        assert "bad-amendment" == ledger([*k.made, amend], PURPOSE).refused[amend.id]


class TestWhatCorrectionsDo:
    def test_void_of_a_checkin_takes_its_checkout(self) -> None:
        """Voiding a check-in leaves out the attendance: check-in and check-out."""
        k = KioskChain(TestCounty())
        checkin, checkout = attendance(k)
        void = correction(k, checkin, staff_id="s-0001")
        book = ledger(k.made, PURPOSE)
        assert {checkin.id: void.id, checkout.id: void.id} == book.voided
        assert ([], 2) == effective(k.made, book)

    def test_void_after_an_amendment_wins_and_a_later_amendment_is_refused(self) -> None:
        county = TestCounty()
        k = KioskChain(county)
        _, checkout = attendance(k)
        signer = KioskChain(county, kiosk="county-corrections")
        first = correction(signer, checkout, "amend", amended={"minutes_credited": 30})
        void = correction(signer, checkout)
        late = correction(signer, checkout, "amend", amended={"minutes_credited": 10})
        book = ledger([*k.made, first, void, late], PURPOSE)
        assert checkout.id in book.voided and checkout.id not in book.amended
        assert {late.id: "already-void"} == book.refused

    def test_unknown_target_has_no_effect(self) -> None:
        county = TestCounty()
        k = KioskChain(county)
        attendance(k)
        ghost = KioskChain(county, kiosk="county-corrections").next("correction", {
            "target": str(uuid.uuid4()), "target_kiosk": "k-test-1", "action": "void", "reason": "test"})
        assert {ghost.id: "target-unknown"} == ledger([*k.made, ghost], PURPOSE).refused
