"""The signed record: a CloudEvent 1.0 in JSON, signed by the kiosk as an EdDSA JWS.

See ``shared/contract/record.md``. A record is built once, signed once and from then on
handled as its compact bytes: the gateway stores and republishes exactly those bytes.
"""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from records import ids, jws
from records.encoding import b64url
from records.errors import MalformedRecord

TYPE_PREFIX = "cn.learncard."
TYPE_SUFFIX = ".v1"
SOURCE_PREFIX = "urn:learncard:kiosk:"
CLOCK_STATES = ("ntp", "gateway", "rtc", "unset")
RECORD_TYPES = (
    "session.opened",
    "session.closed",
    "attendance.checkin",
    "attendance.checkout",
    "attendance.manual",
    "enrollment",
    "rating",
    "tap.rejected",
    "kiosk.checkpoint",
    "correction",
    "consent",
)
_REQUIRED = {
    "specversion": str,
    "id": str,
    "source": str,
    "type": str,
    "time": str,
    "datacontenttype": str,
    "epoch": int,
    "seq": int,
    "prev": str,
    "bootid": str,
    "mono": str,
    "clock": str,
    "venue": str,
    "data": dict,
}
_REQUIRED_ITEMS = tuple(_REQUIRED.items())
INT32_MAX = 2**31 - 1
_UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class Origin:
    """Who makes records and under which circumstances (fixed for a kiosk's run)."""

    kiosk: str
    venue: str
    key_version: int
    bootid: str

    @property
    def kid(self) -> str:
        return f"{self.kiosk}/{self.key_version}"


@dataclass(frozen=True)
class Record:
    """A signed record: its compact JWS text and the CloudEvent it carries."""

    token: str
    event: dict[str, Any]
    kid: str

    @property
    def id(self) -> str:
        return str(self.event["id"])

    @property
    def type(self) -> str:
        """The short record type, e.g. ``attendance.checkin``."""
        return str(self.event["type"])[len(TYPE_PREFIX) : -len(TYPE_SUFFIX)]

    @property
    def kiosk(self) -> str:
        return str(self.event["source"])[len(SOURCE_PREFIX) :]

    @property
    def epoch(self) -> int:
        return int(self.event["epoch"])

    @property
    def seq(self) -> int:
        return int(self.event["seq"])

    @property
    def prev(self) -> str:
        return str(self.event["prev"])

    @property
    def data(self) -> dict[str, Any]:
        data = self.event["data"]
        assert isinstance(data, dict)
        return data

    @functools.cached_property
    def hash(self) -> str:
        """The chain link to this record: what the next record's ``prev`` must be."""
        return link_hash(self.token)


def link_hash(token: str) -> str:
    """Unpadded base64url SHA-256 of a record's JWS compact bytes."""
    return b64url(hashlib.sha256(token.encode("ascii")).digest())


def format_time(moment: datetime) -> str:
    """RFC 3339 with offset and milliseconds; ``moment`` must be timezone-aware."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("record times must carry a UTC offset")
    return moment.isoformat(timespec="milliseconds")


def parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise MalformedRecord(f"time {text!r} is not RFC 3339") from err
    if moment.tzinfo is None:
        raise MalformedRecord(f"time {text!r} has no offset")
    return moment


def _check_no_floats(value: Any, where: str) -> None:
    if isinstance(value, float):
        raise ValueError(f"{where}: records carry no floats")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_no_floats(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_no_floats(v, f"{where}[{i}]")


def build(
    *,
    origin: Origin,
    record_type: str,
    data: dict[str, Any],
    record_id: uuid.UUID,
    time: datetime,
    mono_ns: int,
    clock: str,
    epoch: int,
    seq: int,
    prev: str,
) -> dict[str, Any]:
    """The CloudEvent for one fact (not yet signed)."""
    if record_type not in RECORD_TYPES:
        raise ValueError(f"unknown record type {record_type!r}")
    if clock not in CLOCK_STATES:
        raise ValueError(f"clock state must be one of {CLOCK_STATES}")
    if not (1 <= epoch <= INT32_MAX and 1 <= seq <= INT32_MAX):
        raise ValueError("epoch and seq are 32-bit integers from 1")
    _check_no_floats(data, "data")
    return {
        "specversion": "1.0",
        "id": str(record_id),
        "source": SOURCE_PREFIX + origin.kiosk,
        "type": TYPE_PREFIX + record_type + TYPE_SUFFIX,
        "time": format_time(time),
        "datacontenttype": "application/json",
        "epoch": epoch,
        "seq": seq,
        "prev": prev,
        "bootid": origin.bootid,
        "mono": str(mono_ns),
        "clock": clock,
        "venue": origin.venue,
        "data": data,
    }


def sign(event: dict[str, Any], key: Ed25519PrivateKey, kid: str) -> Record:
    """Serialize ``event`` once (sorted keys, compact) and sign those bytes."""
    payload = orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
    token = jws.sign(payload, key, {"kid": kid, "typ": "learncard+jws"})
    return Record(token, event, kid)


def parse_event(payload: bytes, kid: str, parsed: Any = None) -> dict[str, Any]:
    """Check the CloudEvent's shape; the signature must already have been checked.

    ``parsed``: the payload already decoded by the caller (``orjson.loads(payload)``), to
    spare a second decode; its shape is checked all the same."""
    try:
        event = orjson.loads(payload) if parsed is None else parsed
    except orjson.JSONDecodeError as err:
        raise MalformedRecord("the record payload is not JSON") from err
    if not isinstance(event, dict):
        raise MalformedRecord("the record payload is not a JSON object")
    get = event.get
    for name, kind in _REQUIRED_ITEMS:
        value = get(name)
        # the exact type (what JSON decodes to) first: one comparison for every attribute of a record
        if type(value) is not kind and (not isinstance(value, kind) or isinstance(value, bool)):
            raise MalformedRecord(f"attribute {name!r} is missing or not a {kind.__name__}")
    if event["specversion"] != "1.0":
        raise MalformedRecord("specversion must be 1.0")
    rtype = event["type"]
    if not (rtype.startswith(TYPE_PREFIX) and rtype.endswith(TYPE_SUFFIX)):
        raise MalformedRecord(f"type {rtype!r} is not a LearnCard v1 type")
    if rtype[len(TYPE_PREFIX) : -len(TYPE_SUFFIX)] not in RECORD_TYPES:
        raise MalformedRecord(f"type {rtype!r} is not a known record type")
    if not event["source"].startswith(SOURCE_PREFIX):
        raise MalformedRecord("source is not a LearnCard kiosk")
    kiosk = event["source"][len(SOURCE_PREFIX) :]
    if kid.split("/", 1)[0] != kiosk:
        raise MalformedRecord("the signing key belongs to another kiosk than the source")
    if not (1 <= event["epoch"] <= INT32_MAX and 1 <= event["seq"] <= INT32_MAX):
        raise MalformedRecord("epoch and seq must be 32-bit integers from 1")
    if not (event["mono"].isascii() and event["mono"].isdigit()):  # "²".isdigit(), but int("²") fails
        raise MalformedRecord("mono must be a decimal string")
    if not ids.is_valid_name(event["venue"]):  # a topic level of the verified stream: never "#", "+" or "/"
        raise MalformedRecord("venue must match [a-z0-9-]{3,40}")
    if event["clock"] not in CLOCK_STATES:
        raise MalformedRecord(f"clock must be one of {CLOCK_STATES}")
    if _UUID_TEXT.fullmatch(event["id"]) is None:
        raise MalformedRecord("id is not a UUID in its hyphenated form")
    parse_time(event["time"])
    return event


def verify(token: str | bytes, key_for: Callable[[str], Ed25519PublicKey]) -> Record:
    """Verify the signature first, then parse: a Record, or an error (never False).

    ``key_for(kid)`` returns the public key for ``<kiosk>/<version>`` or raises
    :class:`records.errors.UnknownKey` (or a subclass of VerificationError).
    """
    compact = jws.verify_token(token, key_for)
    return Record(compact.token, parse_event(compact.payload, compact.kid), compact.kid)


def parse_unverified(token: str | bytes) -> Record:
    """Parse without verifying: for a kiosk reading back its own journal, and for tests."""
    compact = jws.parse(token)
    return Record(compact.token, parse_event(compact.payload, compact.kid), compact.kid)
