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
]
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
    },
}


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
            "category": {"enum": CATEGORIES},
            "staff_id": STAFF_ID,
            "planned_start": TIME,
            "planned_end": TIME,
            "credit_rule": CREDIT_RULE,
        }
    ),
    "session.closed": _obj(
        {
            "session_id": SESSION_ID,
            "staff_id": {"anyOf": [STAFF_ID, {"type": "null"}]},
            "attendances": {"type": "integer", "minimum": 0},
            "auto_checkouts": {"type": "integer", "minimum": 0},
        }
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
            "checkin_id": {"type": "string", "minLength": 36, "maxLength": 36},
            "checkin_time": TIME,
            "seconds_present": SECONDS,
            "minutes_credited": MINUTES,
            "how": {"enum": ["nfc", "qr", "auto"]},
        }
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
            "staff_id": STAFF_ID,
        },
        {"course": TEXT},
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
    "kiosk.checkpoint": _obj(
        {
            "pending": {"type": "integer", "minimum": 0},
            "journal_bytes": {"type": "integer", "minimum": 0},
        }
    ),
}
