"""Staff mode through a real agent: login, lockout, idle lock, sessions, roster, manual
attendance, walk-ins, figures. Every staff action is a signed record naming the staff id."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from kiosk.control import ControlClient
from kiosk.errors import ControlError
from records import programme
from records.ids import learner_code
from tests.integration.test_agent import journal_records
from tests.support.county import TestCounty
from tests.support.kiosk import STAFF_PIN, KioskSetup


@pytest.fixture
def staffed(tmp_path: Path, county: TestCounty) -> tuple[KioskSetup, object]:
    kiosk = KioskSetup(county, tmp_path / "kiosk")
    staff_card = county.credential(staff=True, name="李*")
    kiosk.put_document(kiosk.staff_roster({"s-0001": staff_card}))
    kiosk.put_document(county.programme(programme.rows_to_body([PHONE, TAI_CHI])))
    kiosk.set("rules", "staff_pin_attempts", 3)
    return kiosk, staff_card


PHONE = {"venue": "v-test", "course_id": "phone-basics", "title_zh": "智能手机入门", "title_en": "Smartphone basics",
         "category": "science-tech", "form": "workshop", "audience": "elderly", "staff_id": "", "capacity": "",
         "registration": "none", "credit_rule": "standard", "date": "2026-11-23", "weekday": "", "term_start": "",
         "term_end": "", "start": "09:00", "end": "10:30"}
TAI_CHI = {**PHONE, "course_id": "tai-chi", "title_zh": "太极拳", "title_en": "", "category": "sports-fitness",
           "form": "practice", "audience": "all"}


def login(c: ControlClient, county: TestCounty, staff_card) -> str:
    tap = c.call("tap", text=county.qr(staff_card))
    assert "staff-card" == tap["outcome"]
    return c.call("staff.login", card_id=tap["card_id"], pin=STAFF_PIN)["token"]


class TestLogin:
    def test_staff_card_and_pin_open_staff_mode(self, staffed, county: TestCounty) -> None:
        kiosk, staff_card = staffed
        with kiosk.running() as app:
            c = kiosk.client()
            token = login(c, county, staff_card)
            assert "s-0001" == c.call("state")["staff"]["staff_id"]
            assert [] == journal_records(app)  # a staff card tap is not an attendance
            c.call("staff.logout", token=token)
            assert None is c.call("state")["staff"]
            c.close()

    def test_wrong_pin_locks_out_after_the_configured_count(self, staffed, county: TestCounty) -> None:
        kiosk, staff_card = staffed
        with kiosk.running():
            c = kiosk.client()
            assert "staff-card" == c.call("tap", text=county.qr(staff_card))["outcome"]
            for left in (2, 1):
                with pytest.raises(ControlError) as err:
                    c.call("staff.login", card_id=staff_card.card_id, pin="0000")
                assert ("pin-wrong", left) == (err.value.code, err.value.attempts_left)
            with pytest.raises(ControlError) as err:
                c.call("staff.login", card_id=staff_card.card_id, pin="0000")
            assert "locked-out" == err.value.code
            with pytest.raises(ControlError) as err:  # even the right PIN, while locked out
                c.call("staff.login", card_id=staff_card.card_id, pin=STAFF_PIN)
            assert "locked-out" == err.value.code
            c.close()

    def test_the_lock_out_survives_an_agent_restart(self, staffed, county: TestCounty) -> None:
        kiosk, staff_card = staffed
        with kiosk.running():
            c = kiosk.client()
            c.call("tap", text=county.qr(staff_card))
            for _ in range(3):
                with pytest.raises(ControlError):
                    c.call("staff.login", card_id=staff_card.card_id, pin="0000")
            c.close()
        with kiosk.running():  # a new agent process state: the lock-out is in the journal
            c = kiosk.client()
            c.call("tap", text=county.qr(staff_card))
            with pytest.raises(ControlError) as err:
                c.call("staff.login", card_id=staff_card.card_id, pin=STAFF_PIN)
            assert "locked-out" == err.value.code
            c.close()

    def test_wrong_pins_before_a_restart_still_count_after_it(self, staffed, county: TestCounty) -> None:
        kiosk, staff_card = staffed
        with kiosk.running():
            c = kiosk.client()
            c.call("tap", text=county.qr(staff_card))
            for _ in range(2):
                with pytest.raises(ControlError):
                    c.call("staff.login", card_id=staff_card.card_id, pin="0000")
            c.close()
        with kiosk.running():
            c = kiosk.client()
            c.call("tap", text=county.qr(staff_card))
            with pytest.raises(ControlError) as err:
                c.call("staff.login", card_id=staff_card.card_id, pin="0000")
            assert "locked-out" == err.value.code  # 2 before + 1 after = the configured 3
            c.close()

    def test_a_stolen_kiosk_holds_no_staff_card_secret(self, staffed, county: TestCounty) -> None:
        """After staff logins, nothing the kiosk wrote (journal, WAL, state, logs) holds the
        card's secret in any spelling: the roster alone is all a thief gets."""
        import base64

        kiosk, staff_card = staffed
        with kiosk.running() as app:
            c = kiosk.client()
            token = login(c, county, staff_card)
            c.call("staff.logout", token=token)
            with pytest.raises(ControlError):  # a wrong PIN is kept too (the lock-out counter)
                c.call("staff.login", card_id=staff_card.card_id, pin="0000")
            c.close()
            app.journal.conn.execute("PRAGMA wal_checkpoint(FULL)")
        secret = staff_card.staff_secret
        spellings = [secret, secret.hex().encode(), base64.urlsafe_b64encode(secret).rstrip(b"="),
                     base64.b64encode(secret).rstrip(b"=")]
        files = [p for p in kiosk.folder.rglob("*") if p.is_file()]
        assert any(p.name.endswith("sqlite3") for p in files)
        for path in files:
            data = path.read_bytes()
            assert not any(s in data for s in spellings), f"{path} holds the staff card's secret"

    def test_the_pin_alone_without_the_card_tapped_opens_nothing(self, staffed, county: TestCounty) -> None:
        kiosk, staff_card = staffed
        with kiosk.running():
            c = kiosk.client()
            with pytest.raises(ControlError) as err:
                c.call("staff.login", card_id=staff_card.card_id, pin=STAFF_PIN)
            assert "tap-card" == err.value.code
            c.close()

    def test_a_roster_in_the_old_pin_only_form_is_refused_with_advice(self, tmp_path: Path,
                                                                      county: TestCounty) -> None:
        kiosk = KioskSetup(county, tmp_path / "kiosk")
        staff_card = county.credential(staff=True, name="李*")
        old = hashlib.scrypt(STAFF_PIN.encode(), salt=b"s" * 16, n=2**10, r=8, p=1, dklen=32).hex()
        kiosk.put_document(county.staff_roster([{
            "staff_id": "s-0001", "card": staff_card.card_id, "role": "staff", "venues": [kiosk.venue],
            "pin_hash": f"scrypt$1024$8$1${(b's' * 16).hex()}${old}"}]))
        with kiosk.running():
            c = kiosk.client()
            c.call("tap", text=county.qr(staff_card))
            with pytest.raises(ControlError) as err:
                c.call("staff.login", card_id=staff_card.card_id, pin=STAFF_PIN)
            assert "pin-old-form" == err.value.code and "re-issue" in err.value.en
            c.close()

    def test_a_resident_card_is_not_staff(self, staffed, county: TestCounty) -> None:
        kiosk, _ = staffed
        with kiosk.running():
            c = kiosk.client()
            with pytest.raises(ControlError) as err:
                c.call("staff.login", card_id=county.credential().card_id, pin=STAFF_PIN)
            assert "not-staff" == err.value.code
            c.close()

    def test_staff_mode_locks_itself_when_idle(self, staffed, county: TestCounty) -> None:
        kiosk, staff_card = staffed
        kiosk.set("rules", "staff_idle_lock_seconds", 1)
        with kiosk.running():
            c = kiosk.client()
            token = login(c, county, staff_card)
            locked = c.next_event("staff.locked")  # the agent's tick locks it, no request needed
            assert "idle" == locked["reason"]
            with pytest.raises(ControlError) as err:
                c.call("figures", token=token)
            assert "no-staff" == err.value.code
            c.close()


class TestSessions:
    def test_open_roster_close_with_automatic_checkout(self, staffed, county: TestCounty) -> None:
        kiosk, staff_card = staffed
        residents = [county.credential() for _ in range(3)]
        with kiosk.running() as app:
            c = kiosk.client()
            token = login(c, county, staff_card)
            session = c.call("session.open", token=token, course_id="phone-basics", minutes=90)
            assert ("phone-basics", "science-tech", "workshop", "elderly", "ad-hoc") == tuple(
                session[k] for k in ("course_id", "category", "form", "audience", "how"))
            for r in residents:
                tap = c.call("tap", text=county.qr(r))
                assert session["session_id"] == tap["session"]["session_id"]
                assert "智能手机入门" in tap["message"]["zh_CN"]
            roster = c.call("roster", token=token, session_id=session["session_id"])
            assert (3, 3) == (roster["count_present"], roster["count_total"])
            assert all(p["learner_masked"].startswith("*********") for p in roster["present"])
            closed = c.call("session.close", token=token, session_id=session["session_id"])
            assert 3 == closed["auto_checkouts"]
            types = [(r.type, r.data.get("how"), r.data.get("staff_id")) for r in journal_records(app)]
            assert ("session.opened", "ad-hoc", "s-0001") == types[0]
            assert [("attendance.checkout", "auto", None)] * 3 == types[4:7]
            assert ("session.closed", None, "s-0001") == types[7]
            assert 0 == c.call("roster", token=token, session_id=session["session_id"])["count_present"]
            c.close()

    def test_cli_session_commands(self, staffed, county: TestCounty) -> None:
        from click.testing import CliRunner

        from learncard.main import cli

        kiosk, _ = staffed
        run = CliRunner()
        base = ["kiosk", "--config", str(kiosk.config_file), "session"]
        with kiosk.running():
            opened = run.invoke(cli, [*base, "open", "--staff-id", "s-0001", "--course-id", "tai-chi", "--json"])
            assert 0 == opened.exit_code, opened.output
            import json

            sid = json.loads(opened.output)["session_id"]
            listed = run.invoke(cli, [*base, "list"])
            assert sid in listed.output and "open" in listed.output
            closed = run.invoke(cli, [*base, "close", sid, "--staff-id", "s-0001"])
            assert 0 == closed.exit_code, closed.output
            refused = run.invoke(cli, [*base, "open", "--staff-id", "s-9999", "--course-id", "tai-chi"])
            assert isinstance(refused.exception, ControlError)
            assert "not-staff" == refused.exception.code


class TestWithoutACard:
    def test_manual_attendance_and_walk_in(self, staffed, county: TestCounty) -> None:
        kiosk, staff_card = staffed
        with kiosk.running() as app:
            c = kiosk.client()
            token = login(c, county, staff_card)
            code = learner_code(987_654_321_098)
            choices = c.call("manual.choices", token=token)
            assert "forgot-card" in [r["id"] for r in choices["reasons"]] and 45 in choices["minutes"]
            for bad in ({"reason": "忘带卡", "minutes": 45}, {"reason": "forgot-card", "minutes": 44}):
                with pytest.raises(ControlError):  # only what the rules offer reaches a record
                    c.call("attendance.manual", token=token, learner_code=learner_code(987_654_321_098), **bad)
            manual = c.call("attendance.manual", token=token, learner_code=code, reason="forgot-card", minutes=45)
            walkin = c.call("walkin.enroll", token=token, consent=True)
            assert walkin["learner"].startswith("T") and 13 == len(walkin["learner"])
            from records import slip

            made = slip.decode_unverified(slip.from_qr_text(walkin["qr_text"]))  # signed: LCT1:
            assert (walkin["learner"], "k-test-1/1") == (made.learner, made.kid)
            assert (False, None) == (walkin["printed"], walkin["printer_problem"])  # no printer: on screen
            recs = {r.id: r for r in journal_records(app)}
            m, w = recs[manual["record_id"]], recs[walkin["record_id"]]
            assert (code, 45, "s-0001", False) == (m.data["learner"], m.data["minutes_credited"],
                                                   m.data["staff_id"], m.data["temporary"])
            assert ("enrollment", True) == (w.type, w.data["temporary"])
            figures = c.call("figures", token=token)
            assert (1, 45) == (figures["manual"], figures["minutes_credited"])
            c.close()
