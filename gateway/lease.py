"""Which gateway process runs a job that must run in one place at a time (the relay).

Several gateway processes may share one PostgreSQL store. The relay must run in exactly
one of them: the holder takes a session-level PostgreSQL advisory lock on its own
connection and keeps it while that connection lives. When the process dies the server
drops the connection and with it the lock (at once when the process is killed; on a
vanished host after the connection's TCP keepalives give up, about 15 s), and another
process takes it on its next try (every ``retry`` seconds).

Nothing is sent twice in effect across a takeover: the relay's cursor is in the store and
only moves forward, and statement ids come from record ids, so a batch the old holder sent
but did not mark is stored once by the LRS.

A SQLite store has one gateway process (its lock file), which always holds the lease.
"""

from __future__ import annotations

import logging

from gateway.store import Store

log = logging.getLogger(__name__)


class Lease:
    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.name = name
        self._held = store.d.name != "postgresql"

    @property
    def holding(self) -> bool:
        """Whether this process took the lease (without asking the store)."""
        return self._held

    def held(self) -> bool:
        """Whether this process holds the lease, taking it if it is free."""
        if self._held:
            return True
        rows = self.store.query("SELECT pg_try_advisory_lock(hashtext(?))", (f"learncard-lease-{self.name}",))
        if rows and rows[0][0]:
            self._held = True
            log.info("this process now runs the %s (lease taken)", self.name)
        return self._held
