"""Consent at the kiosk (issue 17, PIPL), through the real agent process, Mosquitto and the
gateway process: a walk-in's enrolment and a resident's first registration each carry a
kiosk-signed ``consent`` record written in the same journal transaction (the notice version
from the county's settings); refused without consent and for a minor without a guardian's,
leaving nothing in the journal; not asked again under the same notice; asked again after a
withdrawal (staff only) or a new notice; a kill -9 right after the answer loses nothing. At
the gateway: validated and stored, listed by ``learner export``, counted by ``report``, and
``learner erase`` leaves every chain verifying."""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from kiosk.errors import ControlError
from learncard.main import cli
from records import keys, programme
from records.chain import verify_chain
from records.record import parse_unverified
from records.schemas import SCHEMAS
from tests.integration.test_registration import ROW, WALK_IN
from tests.support.county import TestCounty
from tests.support.driven_agent import DrivenAgent, stored_after_drain
from tests.support.kiosk import STAFF_PIN
from tests.support.mosquitto import Mosquitto
from tests.support.venue import GatewayProcess, kiosk_online

NOTICE = "county-notice-2026-11"


@pytest.fixture
def venue(tmp_path: Path, county: TestCounty, mosquitto: Mosquitto):
    gateway = GatewayProcess(county, tmp_path / "gateway", mosquitto).start()
    setup = kiosk_online(county, tmp_path / "kiosk", mosquitto)
    setup.values["privacy"] = {"notice": NOTICE, "notice_zh": "县里的告知（测试）", "notice_en": "The county's notice",
                               "retention_days": "rating=730,attendance.checkin=1095", "guardian_age": 16}
    staff_card = county.credential(staff=True, name="李*")
    setup.put_document(setup.staff_roster({"s-0001": staff_card}))
    setup.put_document(county.programme(programme.rows_to_body([ROW, WALK_IN])))
    agent = DrivenAgent(setup, "2026-11-23T08:00:00+08:00")
    yield gateway, agent, staff_card
    if agent.proc is not None and agent.proc.poll() is None:
        agent.stop(signal.SIGKILL)
    gateway.kill()


def journal(agent: DrivenAgent) -> list:
    """The kiosk's journal, read beside the running agent (every body valid by its schema)."""
    conn = sqlite3.connect(f"file:{agent.setup.folder / 'state' / 'journal.sqlite3'}?mode=ro", uri=True)
    try:
        recs = [parse_unverified(t) for (t,) in conn.execute("SELECT token FROM records ORDER BY epoch, seq")]
    finally:
        conn.close()
    import fastjsonschema

    for rec in recs:
        fastjsonschema.validate(SCHEMAS[rec.type], rec.data)
    return recs


def refused(agent: DrivenAgent, op: str, **args: object) -> str:
    before = len(journal(agent))
    with pytest.raises(ControlError) as err:
        agent.call(op, **args)
    assert before == len(journal(agent)), "a refusal records nothing"
    assert err.value.zh and err.value.en
    return err.value.code


def login(agent: DrivenAgent, county: TestCounty, staff_card) -> str:
    tap = agent.call("tap", text=county.qr(staff_card))
    return agent.call("staff.login", card_id=tap["card_id"], pin=STAFF_PIN)["token"]


def arm_and_tap(agent: DrivenAgent, county: TestCounty, cred) -> dict:
    agent.call("register.arm", course_id="calligraphy", scope="term")
    return agent.call("tap", text=county.qr(cred))


def test_consent_at_the_kiosk_then_at_the_gateway(venue, county: TestCounty, tmp_path: Path) -> None:
    gateway, agent, staff_card = venue
    resident, child = county.credential(), county.credential()
    agent.start()
    token = login(agent, county, staff_card)
    assert {"version": NOTICE, "zh_CN": "县里的告知（测试）", "en": "The county's notice", "guardian_age": 16} == agent.call(
        "privacy.notice")["notice"]

    # --- a walk-in, on the staff's screen -------------------------------------------------------
    assert "consent-needed" == refused(agent, "walkin.enroll", token=token)
    assert "consent-refused" == refused(agent, "walkin.enroll", token=token, consent=False)
    assert "guardian-needed" == refused(agent, "walkin.enroll", token=token, consent=True, minor=True)
    with pytest.raises(ControlError) as minor:  # the county's age, not a built-in one
        agent.call("walkin.enroll", token=token, consent=True, minor=True)
    assert ("未满 16 周岁" in minor.value.zh, "under 16" in minor.value.en) == (True, True)
    assert "bad-request" == refused(agent, "walkin.enroll", token=token, consent="yes")
    assert "consent-needed" != refused(agent, "walkin.enroll", consent=True)  # staff only: no token
    walkin = agent.call("walkin.enroll", token=token, consent=True, minor=True, guardian_consent=True)
    agent.stop(signal.SIGKILL)  # right after the answer: both records are in the journal
    agent.start()
    token = login(agent, county, staff_card)
    recs = journal(agent)
    recs = [r for r in recs if r.type in ("consent", "enrollment")]
    given, enrolled = recs[0], recs[1]
    assert ("consent", "enrollment") == (given.type, enrolled.type)
    assert walkin["record_id"] == enrolled.id and enrolled.seq == given.seq + 1  # one transaction, in order
    assert {"learner": walkin["learner"], "temporary": True, "status": "given", "notice": NOTICE, "minor": True,
            "guardian_consent": True, "guardian_age": 16, "how": "staff-touchscreen", "staff_id": "s-0001",
            "retention_days": {"attendance.checkin": 1095, "rating": 730}}.items() <= given.data.items()
    assert given.data["collected"] and given.data["purposes"]  # from the county's [privacy] settings

    # --- a resident registering with their own card ---------------------------------------------------
    first = arm_and_tap(agent, county, resident)
    assert "consent-needed" == first["outcome"] and NOTICE == first["notice"]["version"]
    assert "consent-refused" == refused(agent, "register.consent", consent=False)
    assert "no-pending" == refused(agent, "register.consent", consent=True)  # the "no" ended it
    arm_and_tap(agent, county, child)
    assert "guardian-needed" == refused(agent, "register.consent", consent=True, minor=True)
    assert "consent-needed" == arm_and_tap(agent, county, resident)["outcome"]
    done = agent.call("register.consent", consent=True)
    assert "registered" == done["outcome"]
    recs = journal(agent)
    consent, enrollment = recs[-2], recs[-1]
    assert (done["record_id"], enrollment.seq - 1) == (enrollment.id, consent.seq)
    assert ("card-tap", resident.learner_code, False, None) == (
        consent.data["how"], consent.data["learner"], consent.data["minor"], consent.data["staff_id"])

    # same notice: not asked again (cancel, then register again)
    agent.call("register.arm", course_id="calligraphy", scope="term", action="cancel")
    assert "cancelled" == agent.call("tap", text=county.qr(resident))["outcome"]
    assert "registered" == arm_and_tap(agent, county, resident)["outcome"]

    # withdrawal: staff only, recorded, and the next registration asks again
    assert "no-consent" == refused(agent, "consent.withdraw", token=token, learner_code=child.learner_code)
    refused(agent, "consent.withdraw", learner_code=resident.learner_code)  # no staff token
    withdrawn = agent.call("consent.withdraw", token=token, learner_code=resident.learner_code)
    last = journal(agent)[-1]
    assert (withdrawn["record_id"], "withdrawn", NOTICE, "s-0001") == (
        last.id, last.data["status"], last.data["notice"], last.data["staff_id"])
    agent.call("register.arm", course_id="calligraphy", scope="term", action="cancel")
    agent.call("tap", text=county.qr(resident))
    assert "consent-needed" == arm_and_tap(agent, county, resident)["outcome"]
    agent.call("register.disarm")

    # a new notice version: asked again
    agent.stop(signal.SIGTERM)
    agent.setup.values["privacy"]["notice"] = "county-notice-2027-01"
    agent.start()
    agent.call("register.arm", course_id="calligraphy", scope="term", action="cancel")
    agent.call("tap", text=county.qr(resident))
    again = arm_and_tap(agent, county, resident)
    assert ("consent-needed", "county-notice-2027-01") == (again["outcome"], again["notice"]["version"])
    assert "registered" == agent.call("register.consent", consent=True)["outcome"]

    # --- at the gateway -------------------------------------------------------------------------------
    stored = stored_after_drain(gateway, [agent])
    kiosk_recs = journal(agent)
    assert [r.id for r in kiosk_recs] == [r.id for r in stored if r.kiosk == "k-test-1"]  # all accepted
    config = gateway.config

    def gw(*args: str) -> str:
        result = CliRunner().invoke(cli, ["gateway", "--config", str(config), *args])
        assert 0 == result.exit_code, (result.output, result.exception)
        return result.output

    held = json.loads(gw("learner", "export", resident.learner_code))
    assert [("given", NOTICE), ("withdrawn", NOTICE), ("given", "county-notice-2027-01")] == [
        (c["status"], c["notice"]) for c in held["kiosk_consents"]]
    assert ["consent", "enrollment"] == [r.type for r in stored if r.data.get("learner") == walkin["learner"]]

    stats = json.loads(gw("report", "--out", str(tmp_path / "report"), "--since", "2026-11-01",
                          "--until", "2026-12-01", "--json"))
    totals = stats["tables"]["consents"]["totals"]
    assert {"given": 3, "withdrawn": 1, "minors": 1, "walk_ins": 1, "registrations": 2} == {
        k: totals[k] for k in ("given", "withdrawn", "minors", "walk_ins", "registrations")}

    issuer = tmp_path / "issuer.key"
    issuer.write_bytes(keys.private_key_to_pem(county.issuer))
    gateway.stop()
    erased = json.loads(gw("learner", "erase", resident.learner_code, "--issuer-key", str(issuer), "--no-lrs",
                           "--json"))
    assert erased["records"] >= 6  # consents, enrollments, check-ins of the resident
    store = gateway.store()
    try:
        tokens = store.tokens()
    finally:
        store.close()
    assert verify_chain([parse_unverified(t) for t in tokens if parse_unverified(t).kiosk == "k-test-1"]).ok
    stats = json.loads(gw("report", "--out", str(tmp_path / "report2"), "--since", "2026-11-01",
                          "--until", "2026-12-01", "--json"))
    assert {"given": 1, "withdrawn": 0} == {k: stats["tables"]["consents"]["totals"][k]
                                             for k in ("given", "withdrawn")}  # the erased learner left out
