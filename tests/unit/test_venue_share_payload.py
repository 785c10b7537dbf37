"""The venue payload (kiosk/venue_share.py) is made on every tap: the journal is searched for
the open sessions' session.opened records only when the open sessions change."""

from __future__ import annotations

import json
from types import SimpleNamespace

from kiosk.venue_share import VenueShare
from tests.support.county import TestCounty
from tests.support.gateway import KioskChain


class State:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.sessions: list[str] = []
        self.searches = 0

    def open_checkins(self) -> list:
        return []

    def tokens_by_ids(self, ids: list[str]) -> list[str]:
        return []

    def open_sessions(self) -> list:
        return [SimpleNamespace(session_id=s) for s in self.sessions]

    def tokens_since(self, types: tuple[str, ...], since_ms: int) -> list[str]:
        self.searches += 1
        return self.tokens


def test_opened_sessions_are_searched_once_per_change() -> None:
    chain = KioskChain(TestCounty())
    opened = [chain.next("session.opened", {"session_id": s}).token for s in ("s-1", "s-2")]
    state, share = State(opened), VenueShare(None, "k-test-1", "v-test")  # type: ignore[arg-type]

    def sessions() -> list[str]:
        return json.loads(share.payload(state))["sessions"]  # type: ignore[arg-type]
    assert ([], 0) == (sessions(), state.searches)  # nothing open: nothing to search
    state.sessions = ["s-1"]
    assert [opened[0]] == sessions() == sessions()
    assert 1 == state.searches  # a tap with the same sessions open searches nothing
    state.sessions = ["s-1", "s-2"]
    assert opened == sessions()
    state.sessions = []
    assert ([], 2) == (sessions(), state.searches)
