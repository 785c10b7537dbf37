"""The gateway makes the next months' partitions of records daily (learncard/gateway_app.py):
a failure is logged and the next pass tries again; the gateway goes on."""

from __future__ import annotations

import logging
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from learncard.gateway_app import GatewayApp


class FlakyStore:
    def __init__(self, stop: threading.Event) -> None:
        self.calls = 0
        self.stop = stop

    def ensure_months(self) -> list[str]:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("the database is restarting")
        self.stop.set()  # the second pass made them: the test is over
        return ["records_2027_01"]


def test_a_failed_pass_is_logged_and_the_next_one_runs(caplog: pytest.LogCaptureFixture) -> None:
    stop = threading.Event()
    store = FlakyStore(stop)
    app: Any = GatewayApp(service=SimpleNamespace(stop=stop), client=None, store=store,
                          metrics_server=None, months_every=0.001)
    with caplog.at_level(logging.ERROR):
        app._months()
    assert 2 == store.calls
    assert "partitions of records failed" in caplog.text
