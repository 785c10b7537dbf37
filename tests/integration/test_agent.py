"""A real agent (journal file, control socket) driven the way a screen or the CLI drives it."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import fastjsonschema
import pytest
from click.testing import CliRunner

from kiosk.errors import ControlError
from learncard.config import ConfigError
from learncard.main import cli
from records import card
from records.ids import learner_code
from records.record import parse_unverified
from records.schemas import SCHEMAS
from tests.support.county import TestCounty
from tests.support.kiosk import KioskSetup

VALIDATORS = {name: fastjsonschema.compile(schema) for name, schema in SCHEMAS.items()}


@pytest.fixture
def kiosk(tmp_path: Path, county: TestCounty) -> KioskSetup:
    return KioskSetup(county, tmp_path / "kiosk")


def journal_records(app) -> list:
    rows = app.journal.conn.execute("SELECT token FROM records ORDER BY epoch, seq").fetchall()
    recs = [parse_unverified(r[0]) for r in rows]
    for rec in recs:  # every body the agent writes validates against its schema
        VALIDATORS[rec.type](rec.data)
    return recs


class TestResidents:
    def test_check_in_then_duplicate_then_check_out(self, kiosk: KioskSetup, county: TestCounty) -> None:
        kiosk.set("rules", "debounce_seconds", 60)
        cred = county.credential()
        with kiosk.running() as app:
            c = kiosk.client()
            first = c.call("tap", text=county.qr(cred))
            assert "checkin" == first["outcome"]
            assert "王*明" == first["name"]
            again = c.call("tap", text=county.qr(cred))
            assert "duplicate" == again["outcome"]
            assert f"Already checked in at {again['previous']}" == again["message"]["en"]
            # an hour passes on the monotonic clock (durations come from it, not the wall)
            row = app.journal.conn.execute("SELECT mono FROM open_checkins").fetchone()
            app.journal.conn.execute("UPDATE open_checkins SET mono = ?", (row[0] - 3600 * 10**9,))
            app.journal.conn.execute("UPDATE last_taps SET mono = mono - ?", (3600 * 10**9,))
            out = c.call("tap", text=county.qr(cred))
            assert "checkout" == out["outcome"]
            assert 3600 <= out["seconds_present"] < 3700
            assert 60 == out["minutes_credited"]  # self-study, rounded down to 15 minutes
            assert 60 == out["minutes_year"]
            recs = journal_records(app)
            assert ["attendance.checkin", "attendance.checkout"] == [r.type for r in recs]
            assert first["record_id"] == recs[1].data["checkin_id"]
            c.close()

    def test_result_event_reaches_every_screen(self, kiosk: KioskSetup, county: TestCounty) -> None:
        with kiosk.running():
            screen, cli_client = kiosk.client(), kiosk.client()
            result = cli_client.call("tap", text=county.qr(county.credential()))
            event = screen.next_event("tap.result")
            assert result == event["result"]
            screen.close()
            cli_client.close()

    def test_rating_after_checkout(self, kiosk: KioskSetup, county: TestCounty) -> None:
        kiosk.set("rules", "debounce_seconds", 0)
        cred = county.credential()
        with kiosk.running() as app:
            c = kiosk.client()
            c.call("tap", text=county.qr(cred))
            out = c.call("tap", text=county.qr(cred))
            rated = c.call("rate", rating_for=out["rating_for"], score=5)
            with pytest.raises(ControlError) as err:
                c.call("rate", rating_for=out["rating_for"], score=4)
            assert "bad-request" == err.value.code
            rating = [r for r in journal_records(app) if r.type == "rating"]
            assert [(rated["record_id"], 5)] == [(r.id, r.data["score"]) for r in rating]
            c.close()


class TestBadInput:
    """Each bad input: a named outcome, a message in zh_CN and en, nothing lost."""

    def tap_rejected(self, kiosk: KioskSetup, **tap) -> tuple[dict, list]:
        with kiosk.running() as app:
            c = kiosk.client()
            result = c.call("tap", **tap)
            recs = journal_records(app)
            c.close()
        assert "rejected" == result["outcome"]
        assert result["message"]["zh_CN"] and result["message"]["en"]
        assert result["advice"]["zh_CN"] and result["advice"]["en"]
        return result, recs

    @pytest.mark.parametrize("text", ["hello", "LC1:", "LC1:%%%%", "HC1:NCFOXN%TS3DH"])
    def test_malformed_qr_text(self, kiosk: KioskSetup, text: str) -> None:
        result, recs = self.tap_rejected(kiosk, text=text)
        assert "malformed" == result["reason"]
        assert [("tap.rejected", "malformed")] == [(r.type, r.data["reason"]) for r in recs]
        assert "learner" not in recs[0].data

    def test_credential_of_another_issuer(self, kiosk: KioskSetup) -> None:
        other = TestCounty(county_id="county-other")
        result, recs = self.tap_rejected(kiosk, text=other.qr(other.credential()))
        assert "unknown-issuer" == result["reason"]

    def test_forged_credential(self, kiosk: KioskSetup, county: TestCounty) -> None:
        impostor = TestCounty(county_id=county.county_id)
        result, recs = self.tap_rejected(kiosk, text=impostor.qr(impostor.credential()))
        assert "forged" == result["reason"]
        assert "card" not in recs[0].data  # a forged card names nobody

    def test_revoked_card(self, kiosk: KioskSetup, county: TestCounty) -> None:
        cred = county.credential()
        kiosk.put_document(county.revocations([cred.card_id]))
        result, recs = self.tap_rejected(kiosk, text=county.qr(cred))
        assert "revoked" == result["reason"]
        assert cred.card_id == recs[0].data["card"]
        assert "staff desk" in result["advice"]["en"]

    def test_truncated_ndef(self, kiosk: KioskSetup, county: TestCounty) -> None:
        message = card.to_ndef(county.card_bytes(county.credential()))
        result, _ = self.tap_rejected(kiosk, how="nfc", ndef=base64.b64encode(message[:50]).decode())
        assert "truncated" == result["reason"]

    def test_tap_with_no_session_refused_when_configured(self, kiosk: KioskSetup, county: TestCounty) -> None:
        kiosk.set("rules", "no_session", "refuse")
        result, recs = self.tap_rejected(kiosk, text=county.qr(county.credential()))
        assert "no-session" == result["reason"]

    def test_tap_with_no_session_is_self_study_by_default(self, kiosk: KioskSetup, county: TestCounty) -> None:
        with kiosk.running():
            c = kiosk.client()
            result = c.call("tap", text=county.qr(county.credential()))
            c.close()
        assert ("checkin", None) == (result["outcome"], result["session"])

    def test_wrong_learner_code_check_digit(self, kiosk: KioskSetup, county: TestCounty) -> None:
        staff_card = county.credential(staff=True)
        kiosk.put_document(kiosk.staff_roster({"s-0001": staff_card}))
        code = learner_code(123_456_789_012)
        wrong = code[:-1] + str((int(code[-1]) + 3) % 10)
        with kiosk.running() as app:
            c = kiosk.client()
            with pytest.raises(ControlError) as err:
                c.call("attendance.manual", staff_id="s-0001", learner_code=wrong, reason="忘带卡", minutes=60)
            assert "bad-learner-code" == err.value.code
            assert "check digit" in err.value.en
            assert [] == journal_records(app)
            c.close()

    def test_full_journal_refuses_taps_and_keeps_records(self, kiosk: KioskSetup, county: TestCounty) -> None:
        with kiosk.running() as app:
            c = kiosk.client()
            c.call("tap", text=county.qr(county.credential()))
            app.journal.max_bytes = 1
            result = c.call("tap", text=county.qr(county.credential()))
            assert ("refused", "journal-full") == (result["outcome"], result["reason"])
            assert "administrator" in result["advice"]["en"]
            assert c.call("state")["health"]["journal_full"]
            assert 1 == len(journal_records(app))
            c.close()

    def test_read_only_journal(self, kiosk: KioskSetup, county: TestCounty) -> None:
        with kiosk.running() as app:
            c = kiosk.client()
            app.journal.conn.execute("PRAGMA query_only = ON")
            result = c.call("tap", text=county.qr(county.credential()))
            assert ("refused", "journal-readonly") == (result["outcome"], result["reason"])
            c.close()

    def test_corrupt_journal_is_quarantined_at_start(self, kiosk: KioskSetup, county: TestCounty) -> None:
        state = kiosk.folder / "state"
        state.mkdir(parents=True)
        (state / "journal.sqlite3").write_bytes(os.urandom(8192))
        with kiosk.running():
            c = kiosk.client()
            assert "checkin" == c.call("tap", text=county.qr(county.credential()))["outcome"]
            c.close()
        assert list(state.glob("journal.sqlite3.corrupt-*"))

    def test_configuration_missing_or_wrong_key(self, kiosk: KioskSetup) -> None:
        kiosk.values["kiosk"].pop("venue")
        kiosk.write()
        with pytest.raises(ConfigError, match="missing key kiosk.venue"):
            kiosk.load()
        kiosk.values["kiosk"]["venue"] = "v-test"
        kiosk.values["rules"] = {"debounse_seconds": 5}
        kiosk.write()
        result = CliRunner().invoke(cli, ["kiosk", "--config", str(kiosk.config_file), "agent"])
        assert isinstance(result.exception, ConfigError)
        assert "rules.debounse_seconds" in str(result.exception)
        assert str(kiosk.config_file) in str(result.exception)

    def test_bad_requests_get_coded_errors(self, kiosk: KioskSetup) -> None:
        with kiosk.running():
            c = kiosk.client()
            with pytest.raises(ControlError) as err:
                c.call("teleport")
            assert "unknown-op" == err.value.code
            with pytest.raises(ControlError) as err:
                c.call("session.open", course="x", category="elder-education")
            assert "no-staff" == err.value.code
            c.file.write(b"this is not json\n")
            c.file.flush()
            assert "bad-request" == c._read()["error"]["code"]
            assert "health" in c.call("state")
            c.close()
