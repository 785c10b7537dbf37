"""Records → xAPI statements, as ``shared/contract/xapi.md`` says. Pure: the caller supplies
the county's home page, the course of a session and the learner-code links."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from records.record import Record

STATEMENT_NAMESPACE = uuid.UUID("a3b58bd8-cfb2-5afb-8917-6038a24eb9c6")
EXT = "https://w3id.org/learncard/xapi/ext/"
ATTENDED = {"id": "http://adlnet.gov/expapi/verbs/attended", "display": {"en-US": "attended", "zh-CN": "参加"}}
REGISTERED = {"id": "http://adlnet.gov/expapi/verbs/registered", "display": {"en-US": "registered", "zh-CN": "报名"}}
RATED = {"id": "http://id.tincanapi.com/verb/rated", "display": {"en-US": "rated", "zh-CN": "评价"}}
MEETING = "http://adlnet.gov/expapi/activities/meeting"
VOIDED = {"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided", "zh-CN": "作废"}}
RELAYED_TYPES = ("attendance.checkout", "attendance.manual", "enrollment", "rating")


def statement_id(record_id: str) -> str:
    return str(uuid.uuid5(STATEMENT_NAMESPACE, str(uuid.UUID(record_id))))


def linked_statement_id(record_id: str) -> str:
    """The id of the statement re-sent under the learner's code for a record first sent under
    a walk-in's temporary id (the first one is voided; a voided id is never used again)."""
    return str(uuid.uuid5(STATEMENT_NAMESPACE, f"linked:{uuid.UUID(record_id)}"))


def voiding_statement(target: str, home_page: str) -> dict[str, Any]:
    """The statement that voids statement ``target``. Its id is derived from the target's and
    its content is fixed, so voiding twice — a correction, a relink, an erasure — is the same
    statement, which the LRS keeps once."""
    return {"id": str(uuid.uuid5(STATEMENT_NAMESPACE, f"void:{target}")),
            "actor": {"objectType": "Agent", "account": {"homePage": home_page, "name": "county"}},
            "verb": VOIDED, "object": {"objectType": "StatementRef", "id": target}}


def iso_duration(seconds: int) -> str:
    """ISO 8601 duration: PT1H30M, PT45S, PT0S."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{secs}S" if secs else "")
    return text if text != "PT" else "PT0S"


def _activity(iri: str, name: str | None = None) -> dict[str, Any]:
    activity: dict[str, Any] = {"objectType": "Activity", "id": iri}
    if name:
        activity["definition"] = {"name": {"zh-CN": name}, "type": MEETING}
    return activity


def to_statement(rec: Record, home_page: str, course_of: Callable[[str], str | None],
                 links: Mapping[str, str] | None = None,
                 session_of: Callable[[str], Mapping[str, Any] | None] | None = None) -> dict[str, Any] | None:
    """The statement for a record, or None for types that make none. ``session_of`` gives the
    session's ``session.opened`` body: its category, form and audience become context
    extensions, and a programme course (``course_id``) its grouping activity."""
    if rec.type not in RELAYED_TYPES:
        return None
    data = rec.data
    if rec.type == "attendance.checkout" and data["checkin_id"] is None:
        return None  # unpaired: the gateway's pairing (an amendment) makes the one statement
    home = home_page.rstrip("/")
    venue = str(rec.event["venue"])
    learner = str(data["learner"])
    learner = (links or {}).get(learner, learner)
    session_id = data.get("session_id")
    course = course_of(session_id) if session_id else None
    target = (_activity(f"{home}/sessions/{session_id}", course) if session_id
              else _activity(f"{home}/venues/{venue}/self-study", "自主学习"))
    parents = [_activity(f"{home}/venues/{venue}")]
    session = (session_of(session_id) if session_of and session_id else None) or {}
    course_id = session.get("course_id") or data.get("course_id")
    if course_id:  # a course of the county's programme: its own stable IRI
        grouping = [_activity(f"{home}/courses/{course_id}", course or course_id)]
    else:
        grouping = [_activity(f"{home}/courses/{uuid.uuid5(STATEMENT_NAMESPACE, course)}", course)] if course else []
    extensions: dict[str, Any] = {EXT + "kiosk": rec.kiosk, EXT + "record-id": rec.id,
                                  EXT + "clock": rec.event["clock"]}
    for key in ("category", "form", "audience"):
        if session.get(key):
            extensions[EXT + key] = session[key]
    statement: dict[str, Any] = {
        "id": statement_id(rec.id),
        "actor": {"objectType": "Agent", "account": {"homePage": home_page, "name": learner}},
        "object": target,
        "timestamp": rec.event["time"],
        "context": {"contextActivities": {"parent": parents, **({"grouping": grouping} if grouping else {})},
                    "extensions": extensions},
    }
    if rec.type == "attendance.checkout":
        statement["verb"] = ATTENDED
        statement["timestamp"] = data["checkin_time"]
        statement["result"] = {"duration": iso_duration(data["seconds_present"]), "completion": True}
        extensions[EXT + "minutes-credited"] = data["minutes_credited"]
    elif rec.type == "attendance.manual":
        statement["verb"] = ATTENDED
        statement["result"] = {"duration": iso_duration(60 * data["minutes_credited"]), "completion": True}
        extensions[EXT + "minutes-credited"] = data["minutes_credited"]
        extensions[EXT + "recorded-by"] = data["staff_id"]
    elif rec.type == "enrollment":
        statement["verb"] = REGISTERED
        if data.get("course_id"):  # registration at the kiosk: the course, for a session or the term
            statement["object"] = grouping[0]
            extensions[EXT + "registration-scope"] = data["scope"]
            extensions[EXT + "registration-status"] = data["status"]
            if data.get("place"):
                extensions[EXT + "waiting-place"] = data["place"]
        elif not session_id:
            statement["object"] = parents[0]
    else:
        statement["verb"] = RATED
        statement["result"] = {"score": {"raw": data["score"], "min": 1, "max": 5}}
    if data.get("temporary") and learner == data["learner"]:
        extensions[EXT + "temporary-learner"] = True
    return statement
