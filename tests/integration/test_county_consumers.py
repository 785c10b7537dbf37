"""The consumer example in docs/ verifies our records with jwcrypto alone."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from records.keys import public_key_text
from tests.support.county import TestCounty
from tests.support.gateway import KioskChain

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "verify_stream.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("verify_stream", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_verifies_registry_and_records(example, county: TestCounty) -> None:
    registry = example.verify_registry(county.registry({"k-test-1": "v-test"}).token, county.issuer_public,
                                       county.county_id)
    rec = KioskChain(county).next()
    assert rec.event == example.verify_record(rec.token, registry)


def test_example_refuses_forgeries(example, county: TestCounty) -> None:
    registry = example.verify_registry(county.registry({"k-test-1": "v-test"}).token, county.issuer_public,
                                       county.county_id)
    impostor = TestCounty(county_id=county.county_id)
    with pytest.raises(Exception, match="Verification failed"):
        example.verify_record(KioskChain(impostor).next().token, registry)
    with pytest.raises(Exception, match="Verification failed"):
        example.verify_registry(impostor.registry({"k-test-1": "v-test"}).token, county.issuer_public,
                                county.county_id)
    assert public_key_text(county.issuer) == county.issuer_public
