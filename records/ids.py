"""Identifiers: time-ordered record ids (UUIDv7) and learner codes with a Luhn check digit."""

from __future__ import annotations

import re
import uuid

from records.errors import InvalidLearnerCode

LEARNER_CODE_DIGITS = 13  # 12 digits and a check digit
_ID_PATTERN = re.compile(r"^[a-z0-9-]{3,40}$")
# names the county's own identities use (topics.md "Access"): never a kiosk id
RESERVED_PREFIXES = ("gateway", "consumer-", "county", "broker")


def uuid7(unix_ms: int, rand: bytes) -> uuid.UUID:
    """A UUID version 7 (RFC 9562) from a millisecond timestamp and 10 random bytes."""
    if len(rand) < 10:
        raise ValueError("uuid7 needs 10 random bytes")
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (int.from_bytes(rand[0:2], "big") & 0x0FFF) << 64
    value |= 0b10 << 62
    value |= int.from_bytes(rand[2:10], "big") & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def luhn_digit(digits: str) -> int:
    """The Luhn check digit to append to ``digits``."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def learner_code(body: int) -> str:
    """The 13-digit learner code for a 12-digit learner number (check digit last)."""
    if not 0 <= body < 10**12:
        raise InvalidLearnerCode("a learner number has at most 12 digits")
    digits = f"{body:012d}"
    return digits + str(luhn_digit(digits))


def parse_learner_code(text: str) -> int:
    """The learner id (the whole 13-digit code as an integer) from typed text.

    Spaces and dashes are allowed between digits, as printed on cards.
    """
    digits = re.sub(r"[\s-]", "", text)
    if not digits.isdigit() or len(digits) != LEARNER_CODE_DIGITS:
        raise InvalidLearnerCode(
            f"学习码应为 {LEARNER_CODE_DIGITS} 位数字 / a learner code has "
            f"{LEARNER_CODE_DIGITS} digits"
        )
    if luhn_digit(digits[:-1]) != int(digits[-1]):
        raise InvalidLearnerCode(
            "学习码校验位不对，请核对卡上的号码 / the check digit is wrong: "
            "please compare it with the card"
        )
    return int(digits)


def format_learner_code(learner: int) -> str:
    """The learner id as its printed 13-digit code."""
    return f"{learner:0{LEARNER_CODE_DIGITS}d}"


def is_valid_name(text: str) -> bool:
    """Kiosk, venue and county ids: ``[a-z0-9-]{3,40}`` (they are MQTT topic levels)."""
    return isinstance(text, str) and _ID_PATTERN.fullmatch(text) is not None  # "$" alone lets "k-b\n" through


def is_reserved_name(text: str) -> bool:
    """Whether ``text`` is a name reserved for the county's own broker identities."""
    return text.startswith(RESERVED_PREFIXES)
