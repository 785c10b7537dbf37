"""The age under which a guardian must consent is the county's one setting (privacy.guardian_age,
14 by default — PIPL art. 31), asked with at the kiosk and named in the consent record."""

from __future__ import annotations

import fastjsonschema
import pytest

from records import consent
from records.consent import Answer, ConsentRefused, Notice
from records.schemas import SCHEMAS

LEARNER = "3000000000017"


def test_the_refusal_names_the_countys_age() -> None:
    with pytest.raises(ConsentRefused) as default:
        consent.check(Answer(True, True, False))
    assert ("未满 14 周岁" in default.value.zh, "under 14" in default.value.en) == (True, True)
    with pytest.raises(ConsentRefused) as sixteen:
        consent.check(Answer(True, True, False), 16)
    assert "under 16" in sixteen.value.en and "guardian-needed" == sixteen.value.code


@pytest.mark.parametrize("age", [0, 19, 40])
def test_an_age_outside_1_to_18_is_refused_at_start(age: int) -> None:
    with pytest.raises(ValueError, match="expected 1..18"):
        Notice("n1", "告知", "notice", guardian_age=age)


def test_the_record_names_the_age_and_older_records_stay_valid() -> None:
    validate = fastjsonschema.compile(SCHEMAS["consent"])
    notice = Notice("n1", "告知", "notice", guardian_age=16)
    body = consent.given_body(LEARNER, False, notice, Answer(True, True, True), "card-tap", None)
    assert 16 == body["guardian_age"] and 16 == notice.shown()["guardian_age"]
    validate(body)
    validate({k: v for k, v in body.items() if k != "guardian_age"})  # a consent made before the setting
    with pytest.raises(fastjsonschema.JsonSchemaException):
        validate({**body, "guardian_age": 30})
