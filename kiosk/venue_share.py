"""Open check-ins shared by the kiosks of one venue (docs/venue-kiosks.md).

Each kiosk publishes, retained, on ``lc/v1/venue/<venue>/open/<kiosk>`` the check-ins open at
it (the signed ``attendance.checkin`` records themselves), the ``session.opened`` records of its
open sessions, and the ids of other kiosks' check-ins it has checked out. Each kiosk reads the
topics of its own venue (the broker's ACL lets it read no other venue's). A check-in read here
is believed only when it verifies with the registry the kiosk keeps and names this venue and
the kiosk that published it: a peer cannot invent check-ins for another kiosk.

So a resident who checks in at kiosk A and taps at kiosk B is checked out at B on the spot,
credited by the session's rule (kiosk/taps.py); A drops its open check-in when B's message says
B closed it. Kept in memory: the retained messages fill it again after a restart.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk.county_docs import CountyDocuments
from kiosk.journal_state import SessionRow, VenueState
from records import record
from records.errors import RecordError
from records.record import Record

log = logging.getLogger(__name__)

PREFIX = "lc/v1/venue/"


def topic(venue: str, kiosk: str) -> str:
    return f"{PREFIX}{venue}/open/{kiosk}"


@dataclass(frozen=True)
class RemoteCheckin:
    checkin: Record
    session: SessionRow | None  # the session it joined, as the peer opened it (its credit rule)


class VenueShare:
    def __init__(self, docs: CountyDocuments, kiosk: str, venue: str,
                 online: Callable[[], bool] = lambda: True) -> None:
        self.docs = docs
        self.online = online  # whether this kiosk reaches the broker (and so its venue's other kiosks)
        self._asks: dict[str, tuple[Any, str, Any]] = {}
        self.kiosk = kiosk
        self.venue = venue
        self._lock = threading.Lock()
        self._open: dict[str, dict[str, Record]] = {}  # peer → learner → its open check-in
        self._sessions: dict[str, SessionRow] = {}  # session id → the peer's session
        self._closed_by_peers: set[str] = set()
        self.closed_here: set[str] = set()  # peers' check-ins this kiosk checked out
        # the session.opened records of the sessions open here, found once per change of those
        # sessions: finding them scans the journal's records (no index on type), and the payload is
        # made on every tap (a kiosk holding 100,000 records took ~60 ms a tap for it)
        self._opened: tuple[frozenset[str], list[str]] = (frozenset(), [])

    # --- what this kiosk says -------------------------------------------------------------------

    def payload(self, state: VenueState) -> bytes:
        open_rows = state.open_checkins()
        tokens = state.tokens_by_ids([row.record_id for row in open_rows])
        sessions = frozenset(s.session_id for s in state.open_sessions())
        if sessions != self._opened[0]:
            self._opened = (sessions, [t for t in state.tokens_since(("session.opened",), 0)
                                       if record.parse_unverified(t).data["session_id"] in sessions]
                            if sessions else [])
        opened = self._opened[1]
        with self._lock:
            closed = sorted(self.closed_here)
        return json.dumps({"kiosk": self.kiosk, "venue": self.venue, "open": tokens, "sessions": opened,
                           "closed": closed}, sort_keys=True).encode()

    # --- what the venue's other kiosks say ------------------------------------------------------

    def _verified(self, token: str, peer: str, kind: str) -> Record | None:
        registry = self.docs.registry()
        if registry is None:
            return None
        try:
            rec = record.verify(token, registry.kiosk_key_for)
        except RecordError as err:
            log.warning("a venue message from %s holds a record that does not verify: %s", peer, err.reason)
            return None
        if rec.kiosk != peer or rec.event["venue"] != self.venue or rec.type != kind:
            log.warning("a venue message from %s holds another kiosk's or venue's record: ignored", peer)
            return None
        return rec

    def take(self, peer: str, payload: bytes) -> set[str]:
        """Take a peer's message; returns the ids of this kiosk's check-ins the peer closed."""
        if peer == self.kiosk:
            return set()
        try:
            body: dict[str, Any] = json.loads(payload) if payload else {}
        except ValueError:
            log.warning("unreadable venue message from %s", peer)
            return set()
        opened = {}
        for token in body.get("open", []):
            rec = self._verified(str(token), peer, "attendance.checkin")
            if rec is not None:
                opened[str(rec.data["learner"])] = rec
        sessions = {}
        for token in body.get("sessions", []):
            rec = self._verified(str(token), peer, "session.opened")
            if rec is not None:
                d = rec.data
                sessions[d["session_id"]] = SessionRow(
                    d["session_id"], d.get("course", ""), d.get("category", "other"), d.get("staff_id"),
                    d["planned_start"], d["planned_end"], d["credit_rule"], rec.event["time"], None, 0,
                    rule_name=d.get("rule_name"))
        closed = {str(i) for i in body.get("closed", [])}
        with self._lock:
            self._open[peer] = opened
            self._sessions.update(sessions)
            self._closed_by_peers |= closed
        return closed

    def find(self, learner: str) -> RemoteCheckin | None:
        """An open check-in of ``learner`` at another kiosk of the venue that nobody closed."""
        with self._lock:
            found = [by_learner[learner] for by_learner in self._open.values() if learner in by_learner]
            found = [r for r in found if r.id not in self._closed_by_peers and r.id not in self.closed_here]
            if not found:
                return None
            latest = max(found, key=lambda r: r.event["time"])
            return RemoteCheckin(latest, self._sessions.get(latest.data.get("session_id") or ""))

    def cut_off(self) -> bool:
        """This kiosk cannot see its venue's other kiosks, and the registry says it has some."""
        if self.online():
            return False
        registry = self.docs.registry()
        return registry is not None and any(
            k != self.kiosk and e.get("venue") == self.venue and e.get("status") == "active"
            for k, e in registry.kiosks.items())

    def ask(self, cred: Any, how: str, sun: Any) -> str:
        """Hold a tap whose direction only the resident knows; the answer names the token."""
        token = secrets.token_hex(8)
        with self._lock:
            self._asks = dict(list(self._asks.items())[-20:])  # a few at most: one resident at a time
            self._asks[token] = (cred, how, sun)
        return token

    def answered(self, token: str) -> tuple[Any, str, Any]:
        from kiosk.errors import ControlError

        with self._lock:
            held = self._asks.pop(token, None)
        if held is None:
            raise ControlError("请重新刷卡", "please tap again", code="bad-request")
        return held

    def closed(self, checkin_id: str) -> None:
        with self._lock:
            self.closed_here.add(checkin_id)
