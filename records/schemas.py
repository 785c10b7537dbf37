"""A JSON Schema (draft 2020-12) for the ``data`` of each record type.

The gateway validates every record body against these; the kiosk's tests do too.
``docs/records.md`` explains every field.
"""

from __future__ import annotations

from typing import Any

LEARNER = {"type": "string", "pattern": "^([0-9]{13}|T[0-9]{12})$"}
CARD = {"type": "string", "pattern": "^[0-9a-f]{16}$"}
SESSION_ID = {"type": "string", "format": "uuid", "minLength": 36, "maxLength": 36}
STAFF_ID = {"type": "string", "pattern": "^[a-z0-9-]{3,40}$"}
TIME = {"type": "string", "minLength": 20, "maxLength": 40}
TEXT = {"type": "string", "minLength": 1, "maxLength": 200}
SECONDS = {"type": "integer", "minimum": 0, "maximum": 31_622_400}
MINUTES = {"type": "integer", "minimum": 0, "maximum": 1_440}
GROUPS = {
    "type": "array",
    "items": {"enum": ["elder", "youth", "migrant", "disabled"]},
    "uniqueItems": True,
}
CATEGORIES = [
    "elder-education",
    "vocational-skills",
    "family-education",
    "culture",
    "health",
    "digital-skills",
    "other",
]
REJECT_REASONS = [
    "unknown-issuer",
    "revoked",
    "forged",
    "expired",
    "malformed",
    "truncated",
    "no-ndef",
    "foreign-ndef",
    "no-session",
    "bad-learner-code",
    "staff-card",
    # a walk-in's slip (records/slip.py)
    "slip-forged",
    "slip-expired",
    "slip-unknown-kiosk",
    "slip-other-county",
    "slip-unsigned",
    "slip-malformed",
]
CORRECTION_REASONS = [  # records/corrections.py holds their zh_CN/English labels
    "wrong-learner",
    "duplicate",
    "not-attended",
    "wrong-session",
    "wrong-minutes",
    "test",
    "other",
    "paired",  # the gateway paired an unpaired check-out with its check-in at another kiosk
]
RECORD_ID = {"type": "string", "minLength": 36, "maxLength": 36}
KIOSK_ID = {"type": "string", "pattern": "^[a-z0-9-]{3,40}$"}
CREDIT_RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["min_share_percent", "rounding_minutes", "cap_at_session",
                 "daily_self_study_cap_minutes"],
    "properties": {
        "min_share_percent": {"type": "integer", "minimum": 0, "maximum": 100},
        "rounding_minutes": {"type": "integer", "minimum": 1, "maximum": 240},
        "cap_at_session": {"type": "boolean"},
        "daily_self_study_cap_minutes": MINUTES,
        # data version 2 (issue 12): optional, so every version-1 body stays valid
        "session_cap_minutes": MINUTES,
        "daily_cap_minutes": MINUTES,
        "rounding": {"enum": ["down", "nearest"]},
        "no_checkout": {"enum": ["nothing", "planned"]},
    },
}
# Version 1 named a fixed list; the county's programme may extend it (records.programme), so
# version 2 takes any category id — the version-1 names still match.
CATEGORY = {"type": "string", "pattern": "^[a-z0-9-]{2,40}$"}
COURSE_ID = {"type": "string", "pattern": "^[a-z0-9-]{3,40}$"}
DATA_VERSION = {"enum": [1, 2]}  # absent = 1


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "required": sorted(required),
        "properties": {**required, **(optional or {})},
    }


NULLABLE_SESSION = {"anyOf": [SESSION_ID, {"type": "null"}]}
SUN = {
    "type": "object",
    "additionalProperties": False,
    "required": ["e", "c"],
    "properties": {"e": {"type": "string", "pattern": "^[0-9A-F]{32}$"},
                   "c": {"type": "string", "pattern": "^[0-9A-F]{16}$"}},
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "session.opened": _obj(
        {
            "session_id": SESSION_ID,
            "course": TEXT,
            "category": CATEGORY,
            "staff_id": {"anyOf": [STAFF_ID, {"type": "null"}]},
            "planned_start": TIME,
            "planned_end": TIME,
            "credit_rule": CREDIT_RULE,
        },
        {"v": DATA_VERSION, "course_id": COURSE_ID, "title_en": {"type": "string", "maxLength": 200},
         "form": {"type": "string", "pattern": "^[a-z0-9-]{2,40}$"},
         "audience": {"type": "string", "pattern": "^[a-z0-9-]{2,40}$"},
         "occurrence": {"type": "string", "maxLength": 100},
         "rule_name": {"type": "string", "pattern": "^[a-z0-9-]{3,40}$"},
         "programme_version": {"type": "integer", "minimum": 0},
         "how": {"enum": ["staff", "programme", "ad-hoc"]}},
    ),
    "session.closed": _obj(
        {
            "session_id": SESSION_ID,
            "staff_id": {"anyOf": [STAFF_ID, {"type": "null"}]},
            "attendances": {"type": "integer", "minimum": 0},
            "auto_checkouts": {"type": "integer", "minimum": 0},
        },
        {"v": DATA_VERSION, "closed_at": TIME},  # closed_at: when the clock closed it (end + grace)
    ),
    "attendance.checkin": _obj(
        {
            "learner": LEARNER,
            "card": CARD,
            "session_id": NULLABLE_SESSION,
            "how": {"enum": ["nfc", "qr"]},
            "groups": GROUPS,
        },
        {"sun": SUN},  # an NTAG 424 DNA card's SUN message, checked at the gateway
    ),
    "attendance.checkout": _obj(
        {
            "learner": LEARNER,
            "card": {"anyOf": [CARD, {"type": "null"}]},
            "session_id": NULLABLE_SESSION,
            # null (with checkin_time null and no minutes): an unpaired check-out at a kiosk that
            # could not see the venue's other kiosks; the gateway pairs it (docs/venue-kiosks.md)
            "checkin_id": {"anyOf": [RECORD_ID, {"type": "null"}]},
            "checkin_time": {"anyOf": [TIME, {"type": "null"}]},
            "seconds_present": SECONDS,
            "minutes_credited": MINUTES,
            "how": {"enum": ["nfc", "qr", "auto", "expired"]},
        },
        {"v": DATA_VERSION, "rule_name": {"type": "string", "pattern": "^[a-z0-9-]{3,40}$"},
         "checkin_kiosk": KIOSK_ID},  # checkin_kiosk: the check-in was made at another kiosk of the venue
    ),
    "attendance.manual": _obj(
        {
            "learner": LEARNER,
            "temporary": {"type": "boolean"},
            "session_id": NULLABLE_SESSION,
            "staff_id": STAFF_ID,
            "reason": TEXT,
            "minutes_credited": MINUTES,
        }
    ),
    "enrollment": _obj(
        {
            "learner": LEARNER,
            "temporary": {"type": "boolean"},
            "session_id": NULLABLE_SESSION,
            "staff_id": {"anyOf": [STAFF_ID, {"type": "null"}]},  # null: the resident registered at the kiosk
        },
        {"course": TEXT, "v": DATA_VERSION, "course_id": COURSE_ID,
         "scope": {"type": "string", "minLength": 1, "maxLength": 100},
         "status": {"enum": ["registered", "waiting", "cancelled"]},
         "place": {"type": "integer", "minimum": 1}},
    ),
    "rating": _obj(
        {
            "learner": LEARNER,
            "session_id": NULLABLE_SESSION,
            "score": {"type": "integer", "minimum": 1, "maximum": 5},
        }
    ),
    "tap.rejected": _obj(
        {
            "reason": {"enum": REJECT_REASONS},
            "how": {"enum": ["nfc", "qr", "staff"]},
        },
        {"card": CARD, "learner": LEARNER},
    ),
    "correction": _obj(
        {
            "target": RECORD_ID,
            "target_kiosk": KIOSK_ID,
            "action": {"enum": ["void", "amend"]},
            "reason": {"enum": CORRECTION_REASONS},
        },
        {
            "note": TEXT,
            "staff_id": STAFF_ID,  # a kiosk's correction: the staff member who unlocked staff mode
            "amended": {  # action amend only: the fields that change (records/corrections.py)
                "type": "object",
                "additionalProperties": False,
                "minProperties": 1,
                "properties": {"learner": LEARNER, "minutes_credited": MINUTES, "session_id": NULLABLE_SESSION,
                               # a pairing of an unpaired check-out (reason "paired")
                               "checkin_id": RECORD_ID, "checkin_time": TIME, "checkin_kiosk": KIOSK_ID,
                               "seconds_present": SECONDS},
            },
        },
    ),
    "kiosk.checkpoint": _obj(
        {
            "pending": {"type": "integer", "minimum": 0},
            "journal_bytes": {"type": "integer", "minimum": 0},
        }
    ),
    # issue 17 (PIPL): extends the contract's list of types (docs/contract-notes.md); data
    # version 1 — later versions may only add optional fields, so version-1 bodies stay valid
    "consent": _obj(
        {
            "learner": LEARNER,
            "temporary": {"type": "boolean"},
            "status": {"enum": ["given", "withdrawn"]},
            "notice": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
            "how": {"enum": ["staff-touchscreen", "card-tap"]},
            "staff_id": {"anyOf": [STAFF_ID, {"type": "null"}]},
        },
        {"v": {"enum": [1]},
         "collected": {"type": "array", "items": TEXT, "maxItems": 40},
         "purposes": {"type": "array", "items": TEXT, "maxItems": 40},
         "retention_days": {"type": "object", "maxProperties": 40,
                            "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 36_600}},
         "minor": {"type": "boolean"},
         "guardian_consent": {"type": "boolean"},
         # optional (added in data version 1): the age under which ``minor`` was asked
         "guardian_age": {"type": "integer", "minimum": 1, "maximum": 18}},
    ) | {"if": {"properties": {"status": {"const": "given"}}},
         "then": {"required": ["collected", "purposes", "retention_days", "minor", "guardian_consent"],
                  "not": {"properties": {"minor": {"const": True}, "guardian_consent": {"const": False}},
                          "required": ["minor", "guardian_consent"]}}},
}
