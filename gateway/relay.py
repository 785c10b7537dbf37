"""The relay: committed records → xAPI statements → the county LRS, in commit order.

Progress is a cursor in the store per LRS endpoint (the commit position of the last record
handled), advanced only after the LRS accepted a batch (any 2xx answer: 200, or 204 from an
LRS that holds the batch already) or its statements were dead-lettered: a
restart resumes where the LRS last confirmed, and skips nothing. A crash between the LRS's
answer and the cursor's commit re-sends that batch; statement ids come from record ids, so
the LRS keeps each once.

Corrections (gateway/corrections.py): a record voided or amended by a correction makes no
statement of its own; the correction makes a voiding statement for every statement its target
may stand for, and an amendment the corrected statement. A walk-in's temporary id linked to a
learner code (``learners link``): the statements already sent under the temporary id are
voided and re-sent under the code (ids from :func:`gateway.xapi.linked_statement_id`), once.

On 409 the batch is re-sent statement by statement: an identical stored statement counts as
delivered; a real conflict, or a 400, goes to the dead-letter table with the LRS's answer.
When the LRS is down (no answer, 5xx) the relay backs off exponentially, and after
``breaker_after`` failures in a row a circuit breaker stops calling it for ``cooldown``
seconds before one trial batch.

Each endpoint has its own cursor and its own dead letters, named by the endpoint's URL: a new
LRS in the configuration starts from the first record, and ``resend`` sends the history from
a date to any endpoint without touching the running relay's progress.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.corrections import load_ledger, statement_sources, statements_to_void
from gateway.lease import Lease
from gateway.lrs import Answer, LrsClient, LrsUnavailable
from gateway.privacy import keeper
from gateway.store import Store
from gateway.xapi import EXT, RELAYED_TYPES, linked_statement_id, statement_id, to_statement, voiding_statement
from records.corrections import Ledger, amended_record
from records.record import Record, parse_time, parse_unverified

log = logging.getLogger(__name__)

CLOSED, OPEN = "closed", "open"


@dataclass
class Breaker:
    after: int = 5
    cooldown: float = 30.0
    failures: int = 0
    opened_at: float = 0.0

    @property
    def state(self) -> str:
        return OPEN if self.failures >= self.after else CLOSED

    def allows(self, now: float) -> bool:
        return self.state == CLOSED or now - self.opened_at >= self.cooldown

    def failed(self, now: float) -> None:
        self.failures += 1
        if self.failures >= self.after:
            self.opened_at = now

    def succeeded(self) -> None:
        self.failures = 0


@dataclass
class RelayStats:
    delivered: int = 0
    dead: int = 0
    failures: int = 0
    resent_one_by_one: int = 0
    sessions: dict[tuple[str, str], str | None] = field(default_factory=dict)


def same_statement(sent: dict[str, Any], stored: dict[str, Any]) -> bool:
    """Whether the LRS holds what we sent (it adds stored/authority/version, and may rewrite
    the timestamp's spelling)."""
    for key, value in sent.items():
        other = stored.get(key)
        if key == "timestamp":
            try:
                if parse_time(str(value)) != parse_time(str(other).replace("Z", "+00:00")):
                    return False
            except Exception:  # noqa: BLE001 - an unreadable timestamp is a difference
                return False
        elif json.dumps(value, sort_keys=True) != json.dumps(other, sort_keys=True):
            return False
    return True


LEGACY = "lrs"  # the single cursor's name before progress was kept per endpoint


def adopt_legacy(store: Store, name: str) -> bool:
    """Give the single pre-0005 cursor (and its dead letters) to endpoint ``name``, once: it
    was that configured endpoint's progress. Returns whether there was one to adopt."""
    with store.tx() as tx:
        if tx.one("SELECT 1 FROM relay_state WHERE name = ?", (LEGACY,)) is None:
            return False
        if tx.one("SELECT 1 FROM relay_state WHERE name = ?", (name,)) is None:
            tx.execute("UPDATE relay_state SET name = ? WHERE name = ?", (name, LEGACY))
            tx.execute("UPDATE deadletters SET endpoint = ? WHERE endpoint = ?", (name, LEGACY))
        return True


class Relay:
    """Relays to one endpoint. ``name`` keys its progress and dead letters (default: the
    endpoint's URL); ``since`` skips records whose fact is older (for ``resend``)."""

    def __init__(self, store: Store, client: LrsClient, home_page: str, *, batch_size: int = 100,
                 breaker: Breaker | None = None, backoff_max: float = 60.0, name: str | None = None,
                 since: datetime | None = None, lease: Lease | None = None,
                 purpose_of: Callable[[str], str | None] | None = None) -> None:
        self.store = store
        self.purpose_of = purpose_of or (lambda _signer: None)  # the registry's purpose of a county signer
        self.client = client
        self.home_page = home_page
        self.name = name or client.endpoint
        self.since = since
        self.batch_size = batch_size
        self.breaker = breaker or Breaker()
        self.backoff_max = backoff_max
        self.stats = RelayStats()
        self.session_data: dict[tuple[str, str], dict[str, Any]] = {}  # session.opened bodies, for context
        self.stop = threading.Event()
        self.lease = lease  # with several gateway processes, only the holder relays

    # --- state in the store ---------------------------------------------------------------

    def position(self) -> tuple[int, int]:
        """(txid, rowid_) of the last record handled, in commit order (store migration 0008)."""
        rows = self.store.query("SELECT txid, cursor FROM relay_state WHERE name = ?", (self.name,))
        return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)

    def cursor(self) -> int:
        return self.position()[1]

    def _advance(self, position: tuple[int, int]) -> None:
        with self.store.tx() as tx:
            # only forward: a holder that lost its lease unawares must not move it back
            tx.execute("INSERT INTO relay_state (name, txid, cursor) VALUES (?, ?, ?) ON CONFLICT (name) "
                       "DO UPDATE SET txid = excluded.txid, cursor = excluded.cursor WHERE "
                       "excluded.txid > relay_state.txid OR (excluded.txid = relay_state.txid "
                       "AND excluded.cursor > relay_state.cursor)", (self.name, *position))

    def restart(self) -> None:
        """Forget this endpoint's progress: the next steps start from the first record."""
        with self.store.tx() as tx:
            tx.execute("DELETE FROM relay_state WHERE name = ?", (self.name,))

    def links(self) -> dict[str, str]:
        return dict(self.store.query("SELECT temp, code FROM learner_links"))

    def unsent_links(self) -> dict[str, str]:
        return dict(self.store.query("SELECT temp, code FROM learner_links WHERE resent = 0"))

    def lag(self) -> int:
        txid, rowid = self.position()
        return int(self.store.query("SELECT count(*) FROM records WHERE txid > ? OR (txid = ? AND rowid_ > ?)",
                                    (txid, txid, rowid))[0][0])

    def _course(self, kiosk: str, session_id: str) -> str | None:
        key = (kiosk, session_id)
        if key not in self.stats.sessions:
            course = None
            for (token,) in self.store.query(
                    "SELECT token FROM records WHERE kiosk = ? AND type = 'session.opened'", (kiosk,)):
                rec = parse_unverified(token)
                self.stats.sessions[(kiosk, rec.data["session_id"])] = rec.data["course"]
                self.session_data[(kiosk, rec.data["session_id"])] = rec.data
                if rec.data["session_id"] == session_id:
                    course = rec.data["course"]
            self.stats.sessions.setdefault(key, course)
        return self.stats.sessions[key]

    def statement(self, rec: Record, links: dict[str, str]) -> dict[str, Any] | None:
        return to_statement(rec, self.home_page, lambda sid: self._course(rec.kiosk, sid), links,
                            lambda sid: self.session_data.get((rec.kiosk, sid)))

    def _amended(self, target: Record, amendment: Record, links: dict[str, str]) -> dict[str, Any] | None:
        statement = self.statement(amended_record(target, amendment), links)
        if statement is not None:
            statement["id"] = statement_id(amendment.id)
            statement["context"]["extensions"][EXT + "corrects"] = statement_id(target.id)
            statement["context"]["extensions"][EXT + "correction-id"] = amendment.id
        return statement

    def statements_for(self, rec: Record, book: Ledger, links: dict[str, str]) -> list[dict[str, Any]]:
        """What one record makes at the LRS, corrections applied."""
        if rec.type != "correction":
            if rec.id in book.voided or rec.id in book.amended:
                return []  # its correction speaks for it
            statement = self.statement(rec, links)
            return [] if statement is None else [statement]
        if rec.id in book.refused:
            log.warning("correction %s has no effect: %s", rec.id, book.refused[rec.id])
            return []
        target = book.targets[rec.data["target"]]
        out = [voiding_statement(s, self.home_page) for s in statements_to_void(target, book, before=rec)]
        if rec.data["action"] == "void":
            for other, by in book.voided.items():  # the check-outs that ended a voided check-in
                if by == rec.id and other != target.id:
                    out += [voiding_statement(s, self.home_page) for s in statements_to_void(book.targets[other], book)]
        elif target.id not in book.voided:
            corrected = self._amended(target, rec, links)
            out += [corrected] if corrected is not None else []
        return out

    def relink(self, book: Ledger, links: dict[str, str], position: tuple[int, int]) -> None:
        """Void what was sent under newly linked temporary ids and send it again under the
        learner's code (records up to ``position`` in commit order; later ones are sent under
        the code)."""
        fresh = self.unsent_links()
        if not fresh:
            return
        txid, rowid = position
        marks = ",".join("?" * len(RELAYED_TYPES))
        rows = self.store.query(
            f"SELECT rowid_, token FROM records WHERE (txid < ? OR (txid = ? AND rowid_ <= ?)) "  # noqa: S608
            f"AND type IN ({marks}) ORDER BY txid, rowid_", (txid, txid, rowid, *RELAYED_TYPES))
        batch: list[tuple[str, dict[str, Any]]] = []
        for _rowid, token in rows:
            rec = parse_unverified(token)
            if str(rec.data.get("learner")) not in fresh or rec.id in book.voided:
                continue
            sources = statement_sources(rec, book)
            batch += [(f"{rec.id}:void", voiding_statement(statement_id(s), self.home_page)) for s in sources]
            amendment = book.amended.get(rec.id)
            again = self._amended(rec, amendment, links) if amendment else self.statement(rec, links)
            if again is not None:
                again["id"] = linked_statement_id(sources[-1])
                batch.append((rec.id, again))
        if batch:
            self.deliver(batch)
        with self.store.tx() as tx:
            for temp, code in fresh.items():
                tx.execute("UPDATE learner_links SET resent = 1 WHERE temp = ? AND code = ?", (temp, code))
        log.info("%d linked walk-in id(s): %d statement(s) voided and re-sent", len(fresh), len(batch))

    # --- one step -------------------------------------------------------------------------------

    def step(self) -> int:
        """Relay one batch; returns how many records were handled (0: nothing to do)."""
        self.retry_deadletters()
        position = self.position()
        self.relay_released(position)
        links = self.links()
        book = load_ledger(self.store, self.purpose_of)
        self.relink(book, links, position)
        rows = self.store.records_in_commit_order(position, self.batch_size)
        if not rows:
            return 0
        keep = keeper(self.store)  # erased learners' statements are never sent again
        batch = []
        for _position, token in rows:
            rec = parse_unverified(token)
            if not keep(rec):
                continue
            if self.since is not None and parse_time(rec.event["time"]) < self.since:
                continue
            for n, statement in enumerate(self.statements_for(rec, book, links)):
                batch.append((rec.id if n == 0 else f"{rec.id}:{n}", statement))
        if batch:
            self.deliver(batch)  # raises LrsUnavailable: the cursor stays
        self._advance(rows[-1][0])
        return len(rows)

    def relay_released(self, position: tuple[int, int]) -> None:
        """Records accepted after review that the cursor passed while they were held."""
        released = self.store.released_behind(position)
        if not released:
            return
        links = self.links()
        keep = keeper(self.store)
        for record_id, token in released:
            rec = parse_unverified(token)
            statement = self.statement(rec, links) if keep(rec) else None
            if statement is not None:
                self.deliver([(record_id, statement)])  # raises LrsUnavailable: tried again next step
            self.store.mark_relayed(record_id)

    def deliver(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        answer = self.client.post([s for _, s in batch])
        if answer.ok:
            self.stats.delivered += len(batch)
            return
        log.warning("the LRS answered %d to a batch of %d: re-sending one by one", answer.status, len(batch))
        self.stats.resent_one_by_one += 1
        for record_id, statement in batch:
            self.deliver_one(record_id, statement)

    def deliver_one(self, record_id: str, statement: dict[str, Any]) -> bool:
        answer: Answer = self.client.post([statement])
        if answer.ok:
            self.stats.delivered += 1
            return True
        if answer.status == 409:
            stored = self.client.get(statement["id"])
            if stored is not None and same_statement(statement, stored):
                self.stats.delivered += 1  # the LRS holds this very statement already
                return True
        self.dead_letter(record_id, statement, answer.status, answer.text)
        return False

    def dead_letter(self, record_id: str, statement: dict[str, Any], status: int, answer: str) -> None:
        log.error("statement for record %s dead-lettered: LRS answered %d", record_id, status)
        self.stats.dead += 1
        with self.store.tx() as tx:
            tx.execute("INSERT INTO deadletters VALUES (?,?,?,?,?,?,0) ON CONFLICT (endpoint, record_id) DO UPDATE "
                       "SET statement = excluded.statement, status = excluded.status, answer = excluded.answer, "
                       "at_ms = excluded.at_ms, retry = 0",
                       (self.name, record_id, json.dumps(statement, ensure_ascii=False), status, answer[:4000],
                        int(time.time() * 1000)))

    def retry_deadletters(self) -> None:
        for record_id, statement in self.store.query(
                "SELECT record_id, statement FROM deadletters WHERE endpoint = ? AND retry = 1", (self.name,)):
            if self.deliver_one(record_id, json.loads(statement)):
                with self.store.tx() as tx:
                    tx.execute("DELETE FROM deadletters WHERE endpoint = ? AND record_id = ?", (self.name, record_id))

    # --- the loop -----------------------------------------------------------------------------------

    def run(self, idle: float = 1.0) -> None:
        delay = 1.0
        while not self.stop.is_set():
            if self.lease is not None and not self._holds_lease():
                self.stop.wait(1.0)
                continue
            now = time.monotonic()
            if not self.breaker.allows(now):
                self.stop.wait(min(1.0, self.breaker.cooldown))
                continue
            try:
                handled = self.step()
            except LrsUnavailable as err:
                self.stats.failures += 1
                self.breaker.failed(time.monotonic())
                log.warning("LRS unavailable (%s); retrying in %.0f s (breaker %s)", err, delay, self.breaker.state)
                self.stop.wait(delay)
                delay = min(self.backoff_max, delay * 2)
                continue
            except Exception:  # a relay bug must not stop ingest  # noqa: BLE001
                log.exception("relay step failed")
                self.stop.wait(5)
                continue
            self.breaker.succeeded()
            delay = 1.0
            if handled == 0:
                self.stop.wait(idle)


    def _holds_lease(self) -> bool:
        assert self.lease is not None
        try:
            return self.lease.held()
        except Exception:  # a lost store connection: not the holder  # noqa: BLE001
            log.exception("the relay lease could not be checked")
            return False


def link_learner(store: Store, temp: str, code: str) -> None:
    """Record the county's decision: temporary id ``temp`` is learner ``code`` from now on."""
    from records.ids import format_learner_code, parse_learner_code

    if not (temp.startswith("T") and len(temp) == 13 and temp[1:].isdigit()):
        raise ValueError(f"{temp!r} is not a temporary learner id (T and 12 digits)")
    code = format_learner_code(parse_learner_code(code))
    with store.tx() as tx:
        before = tx.one("SELECT code FROM learner_links WHERE temp = ?", (temp,))
        if before is not None and before[0] != code:
            raise ValueError(f"{temp} is linked to {before[0]} already: a link is final (its statements were "
                             "re-sent under that code); correct single records with `gateway correct amend`")
        tx.execute("INSERT INTO learner_links (temp, code, linked_ms) VALUES (?,?,?) ON CONFLICT (temp) "
                   "DO NOTHING", (temp, code, int(time.time() * 1000)))


def deadletter_rows(store: Store) -> list[dict[str, Any]]:
    return [{"endpoint": e, "record_id": r, "status": s, "answer": a, "at_ms": t, "retry": bool(x)}
            for e, r, s, a, t, x in store.query(
                "SELECT endpoint, record_id, status, answer, at_ms, retry FROM deadletters ORDER BY at_ms")]


def progress_rows(store: Store) -> list[dict[str, Any]]:
    """Each endpoint's cursor and how many committed records lie beyond it."""
    top = int(store.query("SELECT coalesce(max(rowid_), 0) FROM records")[0][0])
    return [{"endpoint": name, "cursor": int(cursor), "behind": top - int(cursor)}
            for name, cursor in store.query("SELECT name, cursor FROM relay_state ORDER BY name")]


def mark_for_retry(store: Store, record_id: str | None) -> int:
    with store.tx() as tx:
        if record_id is None:
            return int(tx.execute("UPDATE deadletters SET retry = 1").rowcount)
        return int(tx.execute("UPDATE deadletters SET retry = 1 WHERE record_id = ?", (record_id,)).rowcount)
