"""The kiosk keeps only programmes and credit rules the county signed, newest first; a
forged, foreign, older or unusable document changes nothing (hostile inputs)."""

from __future__ import annotations

import os
from pathlib import Path

from kiosk.county_docs import CountyDocuments
from records import county, keys, programme
from records.rules import RuleBook
from tests.support.county import NOW, TestCounty

ROW = {"venue": "v-test", "course_id": "phone", "title_zh": "智能手机入门", "title_en": "", "category": "science-tech",
       "form": "workshop", "audience": "elderly", "staff_id": "", "capacity": "", "registration": "none",
       "credit_rule": "standard", "date": "2026-11-23", "weekday": "", "term_start": "", "term_end": "",
       "start": "09:00", "end": "10:30"}


def docs(tmp_path: Path, c: TestCounty) -> CountyDocuments:
    return CountyDocuments(tmp_path, c.county_id, keys.public_key_from_text(c.issuer_public))


def test_a_programme_signed_with_another_key_is_ignored(tmp_path: Path, county: TestCounty) -> None:
    held = docs(tmp_path, county)
    thief = keys.private_key_from_seed(os.urandom(32))
    forged = county_doc(county, thief)
    assert not held.update("programme", forged.token)
    assert held.programme() is None and not (tmp_path / "programme.jws").exists()


def county_doc(c: TestCounty, key: object) -> county.Document:
    return county.sign_document("programme", c.county_id, 9, programme.rows_to_body([ROW]), key, NOW)  # type: ignore[arg-type]


def test_an_older_or_mislabelled_document_changes_nothing(tmp_path: Path, county: TestCounty) -> None:
    held = docs(tmp_path, county)
    assert held.update("programme", county.programme(programme.rows_to_body([ROW]), version=3).token)
    older = programme.rows_to_body([{**ROW, "title_zh": "旧课程"}])
    assert not held.update("programme", county.programme(older, version=2).token)
    # a credit-rules document offered as the programme: refused by its kind
    assert not held.update("programme", county.credit_rules(RuleBook.from_body(
        {"default": "standard", "rules": {"standard": {}}}).body(), version=4).token)
    assert "智能手机入门" == held.programme()["courses"][0]["title_zh"]
    again = docs(tmp_path, county)  # after a restart: the newest verified one, from the state folder
    assert 3 == again.version("programme")


def test_unusable_credit_rules_fall_back_to_the_built_in_rule(tmp_path: Path, county: TestCounty) -> None:
    """Signed but unusable (a rule with a bad value): the kiosk logs it and keeps crediting by
    the built-in rule rather than stopping."""
    held = docs(tmp_path, county)
    bad = {"default": "standard", "rules": {"standard": {"min_share_percent": 150}}}
    assert held.update("credit-rules", county.credit_rules(bad).token)
    assert held.rule_book() is None
