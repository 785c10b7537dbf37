"""Fixtures every test may use. Real processes only: see tests/support/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.county import TestCounty
from tests.support.mosquitto import Mosquitto


@pytest.fixture
def county() -> TestCounty:
    return TestCounty()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A fresh broker per test on a free loopback port (plain, anonymous)."""
    if shutil.which("mosquitto") is None:
        pytest.fail("mosquitto is not installed: run scripts/setup.sh")
    broker = Mosquitto(tmp_path / "broker").start()
    yield broker
    broker.kill()
