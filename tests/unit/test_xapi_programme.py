"""xAPI for the programme's records: registration at the kiosk is `registered` on the
course; a session's category, form and audience travel as context extensions; records made
before the programme map as they did. Every body validates against its (versioned) schema."""

from __future__ import annotations

import uuid

import fastjsonschema
import pytest

from gateway.service_hours import registration_lists
from gateway.xapi import EXT, REGISTERED, STATEMENT_NAMESPACE, to_statement
from records.schemas import SCHEMAS
from tests.support.county import TestCounty
from tests.support.gateway import KioskChain

HOME = "https://learn.county-test.example"
SID = str(uuid.UUID(int=7))
RULE_V1 = {"min_share_percent": 50, "rounding_minutes": 15, "cap_at_session": True,
           "daily_self_study_cap_minutes": 240}
OPENED_V2 = {"v": 2, "session_id": SID, "course": "智能手机入门", "course_id": "phone", "category": "science-tech",
             "form": "workshop", "audience": "elderly", "staff_id": None, "planned_start": "2026-11-23T09:00:00+08:00",
             "planned_end": "2026-11-23T10:30:00+08:00", "how": "programme", "rule_name": "standard",
             "credit_rule": {**RULE_V1, "session_cap_minutes": 0, "daily_cap_minutes": 0, "rounding": "down",
                             "no_checkout": "nothing"}}
OPENED_V1 = {"session_id": SID, "course": "智能手机入门", "category": "elder-education", "staff_id": "s-0001",
             "planned_start": "2026-11-23T09:00:00+08:00", "planned_end": "2026-11-23T10:30:00+08:00",
             "credit_rule": RULE_V1}
CHECKOUT = {"learner": "1000000000018", "card": None, "session_id": SID, "checkin_id": str(uuid.UUID(int=9)),
            "checkin_time": "2026-11-23T09:00:00+08:00", "seconds_present": 0, "minutes_credited": 0,
            "how": "expired", "v": 2, "rule_name": "standard"}
REGISTER = {"v": 2, "learner": "1000000000018", "temporary": False, "session_id": None, "staff_id": None,
            "course_id": "phone", "scope": "term", "status": "waiting", "place": 2}


@pytest.mark.parametrize(("kind", "body"), [("session.opened", OPENED_V1), ("session.opened", OPENED_V2),
                                            ("attendance.checkout", CHECKOUT), ("enrollment", REGISTER)])
def test_old_and_new_bodies_validate(kind: str, body: dict) -> None:
    """Version-1 bodies stay valid; version-2 bodies are valid too."""
    fastjsonschema.compile(SCHEMAS[kind])(body)


def test_a_new_field_with_the_wrong_shape_is_refused() -> None:
    with pytest.raises(fastjsonschema.JsonSchemaException):
        fastjsonschema.compile(SCHEMAS["attendance.checkout"])({**CHECKOUT, "how": "forgotten"})
    with pytest.raises(fastjsonschema.JsonSchemaException):
        fastjsonschema.compile(SCHEMAS["enrollment"])({**REGISTER, "status": "maybe"})


def test_session_context_and_course_grouping(county: TestCounty) -> None:
    chain = KioskChain(county)
    checkout = chain.next("attendance.checkout", CHECKOUT)
    statement = to_statement(checkout, HOME, lambda sid: "智能手机入门", None, lambda sid: OPENED_V2)
    ext = statement["context"]["extensions"]
    assert ("science-tech", "workshop", "elderly") == (ext[EXT + "category"], ext[EXT + "form"], ext[EXT + "audience"])
    assert f"{HOME}/courses/phone" == statement["context"]["contextActivities"]["grouping"][0]["id"]
    old = to_statement(checkout, HOME, lambda sid: "智能手机入门")
    assert EXT + "category" not in old["context"]["extensions"]
    assert f"{HOME}/courses/{uuid.uuid5(STATEMENT_NAMESPACE, '智能手机入门')}" == \
        old["context"]["contextActivities"]["grouping"][0]["id"]


def test_registration_is_registered_on_the_course(county: TestCounty) -> None:
    rec = KioskChain(county).next("enrollment", REGISTER)
    statement = to_statement(rec, HOME, lambda sid: None)
    assert REGISTERED == statement["verb"]
    assert f"{HOME}/courses/phone" == statement["object"]["id"]
    assert ("term", "waiting", 2) == tuple(statement["context"]["extensions"][EXT + k] for k in (
        "registration-scope", "registration-status", "waiting-place"))


def test_a_place_lost_to_another_kiosk_is_marked(county: TestCounty) -> None:
    """Two kiosks each gave the last place away offline: the earlier registration keeps it."""
    one, two = KioskChain(county, kiosk="k-one"), KioskChain(county, kiosk="k-two")
    first = one.next("enrollment", {**REGISTER, "status": "registered", "learner": "1000000000018"})
    two.time = one.time
    second = two.next("enrollment", {**REGISTER, "status": "registered", "learner": "1000000000026"}, step_s=5)
    rows = registration_lists([second, first], {"phone": 1})
    assert [("1000000000018", "registered", False), ("1000000000026", "waiting", True)] == [
        (r["learner"], r["status"], r["lost_place"]) for r in rows]
