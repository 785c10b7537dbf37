"""The gateway makes the next months' partitions of records daily (learncard/gateway_app.py):
a failed pass (a lock it did not get) is logged and tried again soon; the gateway goes on."""

from __future__ import annotations

import logging
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from learncard.gateway_app import GatewayApp


class Waits(threading.Event):
    """A stop event whose waits return at once and are written down."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.asked.append(timeout or 0.0)
        return self.is_set()


class FlakyStore:
    def __init__(self, stop: threading.Event) -> None:
        self.calls = 0
        self.stop = stop

    def ensure_months(self) -> list[str]:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("canceling statement due to lock timeout")
        self.stop.set()  # the second pass made them: the test is over
        return ["records_2027_01"]


def test_a_failed_pass_is_logged_and_tried_again_soon(caplog: pytest.LogCaptureFixture) -> None:
    stop = Waits()
    store = FlakyStore(stop)
    app: Any = GatewayApp(service=SimpleNamespace(stop=stop), client=None, store=store, metrics_server=None)
    with caplog.at_level(logging.ERROR):
        app._months()
    assert 2 == store.calls
    assert [86400.0, 600.0, 86400.0] == stop.asked  # a day, then soon after the failure, then a day
    assert "partitions of records failed" in caplog.text
