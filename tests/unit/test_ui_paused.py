"""What puts the touchscreen into 暂停使用: each cause alone, and none when all is well."""

from __future__ import annotations

import pytest

from kiosk.ui.paused import causes

WELL = {"health": {"journal_full": False, "clock": "ntp", "readers": {"nfc": {"state": "ready"}}}}


def state(**health: object) -> dict:
    return {"health": {**WELL["health"], **health}}


def test_nothing_wrong() -> None:
    assert [] == causes(WELL, True)


@pytest.mark.parametrize(("snapshot", "connected", "expected"), [
    (WELL, False, ["paused_agent"]),
    (None, True, ["paused_agent"]),
    (state(journal_full=True), True, ["paused_journal"]),
    (state(clock="unset"), True, ["paused_clock"]),
    (state(readers={"nfc": {"state": "error"}, "camera": {"state": "connecting"}}), True, ["paused_reader"]),
    (state(journal_full=True, clock="unset"), True, ["paused_journal", "paused_clock"]),
    (state(identity={"code": "signing-key-mismatch"}), True, ["paused_identity"]),
    (state(identity=None), True, []),
])
def test_each_cause(snapshot: dict | None, connected: bool, expected: list[str]) -> None:
    assert expected == causes(snapshot, connected)


@pytest.mark.parametrize("clock", ["ntp", "gateway", "rtc"])
def test_a_known_time_is_fine(clock: str) -> None:
    assert [] == causes(state(clock=clock), True)


def test_one_ready_reader_is_enough() -> None:
    assert [] == causes(state(readers={"nfc": {"state": "error"}, "camera": {"state": "ready"}}), True)
