"""The gateway's store: verified records exactly as signed, unique on (kiosk, epoch, seq) and
on record id; rejected records with their reason; the chain position per kiosk and epoch;
kiosk status. One SQL implementation, two dialects: SQLite (WAL; one county) and
PostgreSQL (several gateway workers sharing it).

Everything the ingest does for one message happens in one transaction (``store.tx()``),
together with the other messages of its group (group commit, one savepoint each); receipts
are sent only after it commits.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway import partitions
from gateway.errors import StoreError
from records import migrations

log = logging.getLogger(__name__)

SCHEMA: list[tuple[str, str | Callable[[Tx], None]]] = [
    ("0001-records", """
        CREATE TABLE records (
            rowid_ {serial}, kiosk TEXT NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL,
            id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, venue TEXT NOT NULL, time TEXT NOT NULL,
            hash TEXT NOT NULL, prev TEXT NOT NULL, token TEXT NOT NULL, flags TEXT NOT NULL DEFAULT '',
            committed_ms BIGINT NOT NULL, UNIQUE (kiosk, epoch, seq));
        CREATE INDEX records_hash ON records (kiosk, hash);
        CREATE TABLE rejected (
            kiosk TEXT NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL,
            token TEXT NOT NULL, reason TEXT NOT NULL, rejected_ms BIGINT NOT NULL,
            PRIMARY KEY (kiosk, epoch, seq));
        CREATE TABLE chains (
            kiosk TEXT NOT NULL, epoch INTEGER NOT NULL, upto INTEGER NOT NULL, head TEXT NOT NULL,
            max_seen INTEGER NOT NULL, last_time TEXT NOT NULL DEFAULT '', last_mono TEXT NOT NULL DEFAULT '',
            last_bootid TEXT NOT NULL DEFAULT '', PRIMARY KEY (kiosk, epoch));
        CREATE TABLE alerts (
            at_ms BIGINT NOT NULL, kiosk TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL);
        CREATE TABLE kiosk_status (
            kiosk TEXT PRIMARY KEY, status TEXT NOT NULL, received_ms BIGINT NOT NULL,
            last_record_ms BIGINT NOT NULL DEFAULT 0)
    """),
    ("0002-relay", """
        CREATE TABLE relay_state (name TEXT PRIMARY KEY, cursor BIGINT NOT NULL);
        CREATE TABLE deadletters (
            record_id TEXT PRIMARY KEY, statement TEXT NOT NULL, status INTEGER NOT NULL, answer TEXT NOT NULL,
            at_ms BIGINT NOT NULL, retry INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE learner_links (temp TEXT PRIMARY KEY, code TEXT NOT NULL, linked_ms BIGINT NOT NULL)
    """),
    # contract 1.1: lines that are not the kiosk's records (no valid signature, another kiosk's
    # kid, a position out of range or implausibly far ahead) are kept apart and take no position
    ("0003-refused", """
        CREATE TABLE refused (
            rowid_ {serial}, kiosk TEXT NOT NULL, epoch BIGINT NOT NULL, seq BIGINT NOT NULL,
            hash TEXT NOT NULL, token TEXT NOT NULL, reason TEXT NOT NULL, refused_ms BIGINT NOT NULL);
        CREATE INDEX refused_kiosk ON refused (kiosk, refused_ms);
        CREATE INDEX rejected_hash ON rejected (kiosk, hash);
        INSERT INTO refused (kiosk, epoch, seq, hash, token, reason, refused_ms)
            SELECT kiosk, epoch, seq, hash, token, reason, rejected_ms FROM rejected
            WHERE reason IN ('bad-signature', 'wrong-kiosk');
        DELETE FROM rejected WHERE reason IN ('bad-signature', 'wrong-kiosk')
    """),
    ("0004-review", """
        CREATE TABLE attendance (
            record_id TEXT PRIMARY KEY, kind TEXT NOT NULL, learner TEXT NOT NULL, venue TEXT NOT NULL,
            day TEXT NOT NULL, minutes INTEGER NOT NULL);
        CREATE INDEX attendance_day ON attendance (learner, day);
        CREATE TABLE held (
            record_id TEXT PRIMARY KEY, kiosk TEXT NOT NULL, reasons TEXT NOT NULL, state TEXT NOT NULL,
            held_ms BIGINT NOT NULL, decided_ms BIGINT NOT NULL DEFAULT 0, note TEXT NOT NULL DEFAULT '',
            relayed INTEGER NOT NULL DEFAULT 0, waits_for TEXT NOT NULL DEFAULT '');
        CREATE INDEX held_waits ON held (waits_for);
        CREATE TABLE planned_sessions (session_id TEXT PRIMARY KEY, venue TEXT NOT NULL, minutes INTEGER NOT NULL)
    """),
    # Progress and dead letters per LRS endpoint, so the history can go to a second LRS. The
    # single cursor of 0002 keeps the name 'lrs' until the relay adopts it (relay.adopt_legacy).
    ("0005-relay-per-endpoint", """
        ALTER TABLE deadletters RENAME TO deadletters_0002;
        CREATE TABLE deadletters (
            endpoint TEXT NOT NULL, record_id TEXT NOT NULL, statement TEXT NOT NULL, status INTEGER NOT NULL,
            answer TEXT NOT NULL, at_ms BIGINT NOT NULL, retry INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (endpoint, record_id));
        INSERT INTO deadletters SELECT 'lrs', record_id, statement, status, answer, at_ms, retry FROM deadletters_0002;
        DROP TABLE deadletters_0002
    """),
    # Personal data (gateway/privacy.py): county-signed consents and erasures, and a tombstone
    # per purged record so a kiosk's chain of hashes stays checkable across what was purged.
    ("0006-privacy", """
        CREATE TABLE consents (learner TEXT NOT NULL, token TEXT NOT NULL, at_ms BIGINT NOT NULL);
        CREATE INDEX consents_learner ON consents (learner);
        CREATE TABLE erasures (learner TEXT PRIMARY KEY, token TEXT NOT NULL, erased_ms BIGINT NOT NULL);
        CREATE TABLE purged (
            id TEXT PRIMARY KEY, kiosk TEXT NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL,
            hash TEXT NOT NULL, prev TEXT NOT NULL, learner TEXT NOT NULL, purged_ms BIGINT NOT NULL)
    """),
    # a rejected record's link, so a signed record that does not link to the chain (a stolen
    # key) can be told from the kiosk's own; a refused line is kept once per kiosk and hash
    ("0007-rejected-prev", """
        ALTER TABLE rejected ADD COLUMN prev TEXT NOT NULL DEFAULT '';
        CREATE INDEX refused_hash ON refused (kiosk, hash)
    """),
    # Commit order with several writers: a BIGSERIAL is taken at insert, not at commit, so
    # with several gateway processes a lower rowid_ can commit after a higher one and a
    # cursor on rowid_ alone would pass it for good. PostgreSQL: each row carries its
    # transaction id; every transaction below the oldest still running is finished, so rows
    # are read in (txid, rowid_) order only below that horizon. SQLite has one writer at a
    # time (BEGIN IMMEDIATE): txid stays 0 and rowid_ is commit order.
    ("0008-commit-order", """
        ALTER TABLE records ADD COLUMN txid BIGINT NOT NULL DEFAULT 0;
        {txid_default};
        CREATE INDEX records_commit_order ON records (txid, rowid_);
        ALTER TABLE relay_state ADD COLUMN txid BIGINT NOT NULL DEFAULT 0
    """),
    # the relay has voided a linked walk-in's statements and re-sent them under the code
    ("0009-learner-links-resent", """
        ALTER TABLE learner_links ADD COLUMN resent INTEGER NOT NULL DEFAULT 0
    """),
    # PostgreSQL: records by month of committed_ms, the global uniqueness of id and of
    # (kiosk, epoch, seq) in record_keys (gateway/partitions.py). SQLite: nothing to do.
    ("0010-records-by-month", partitions.convert),
    # the relay reads the corrections every batch (gateway/corrections.py load_ledger): a partial
    # index finds them without reading every record, so a batch's cost does not grow with the store
    ("0011-corrections-index", """
        CREATE INDEX records_corrections ON records (rowid_) WHERE type = 'correction'
    """),
]
HELD, ACCEPTED, VOID = "held", "accepted", "void"  # held records: see gateway/plausibility.py


@dataclass
class Chain:
    kiosk: str
    epoch: int
    upto: int = 0
    head: str = ""
    max_seen: int = 0
    last_time: str = ""
    last_mono: str = ""
    last_bootid: str = ""


class Dialect:
    name = "sqlite"
    serial = "INTEGER PRIMARY KEY AUTOINCREMENT"
    lock_suffix = ""
    txid_default = "SELECT 1"  # nothing to do: one writer at a time
    keys = "records"  # where ids are looked up (PostgreSQL: record_keys, kept by triggers: gateway/partitions.py)
    horizon = str(2**62)  # every committed row is final

    def q(self, sql: str) -> str:
        return sql


class Postgres(Dialect):
    name = "postgresql"
    serial = "BIGSERIAL PRIMARY KEY"
    lock_suffix = " FOR UPDATE"
    txid_default = "ALTER TABLE records ALTER COLUMN txid SET DEFAULT (pg_current_xact_id()::text::bigint)"
    horizon = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
    keys = "record_keys"

    def q(self, sql: str) -> str:
        return sql.replace("?", "%s")


class Tx:
    """One transaction's view of the store."""

    def __init__(self, cur: Any, dialect: Dialect) -> None:
        self.cur = cur
        self.d = dialect
        self.locked: set[str] = set()  # kiosks whose advisory lock this transaction holds

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        self.cur.execute(self.d.q(sql), params)
        return self.cur

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.execute(sql, params).fetchone()

    def lock_kiosks(self, kiosks: list[str]) -> None:
        """PostgreSQL: take the advisory locks of several kiosks at once, in ascending lock
        order, so that processes settling overlapping groups of kiosks in one transaction each
        wait for one another instead of deadlocking (SQLite: one writer at a time already)."""
        if self.d.name != "postgresql" or not kiosks:
            return
        self.execute("SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtext(k) AS h "
                     "FROM unnest(?::text[]) AS k) AS locks ORDER BY h", (list(kiosks),))
        self.locked.update(kiosks)

    def chain(self, kiosk: str, epoch: int) -> Chain:
        if self.d.name == "postgresql" and kiosk not in self.locked:
            # one worker at a time per kiosk: the chain row may not exist yet to lock FOR UPDATE
            self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (kiosk,))
            self.locked.add(kiosk)
        row = self.one("SELECT upto, head, max_seen, last_time, last_mono, last_bootid FROM chains "  # noqa: S608
                       "WHERE kiosk = ? AND epoch = ?" + self.d.lock_suffix,  # noqa: S608 (a fixed suffix)
                       (kiosk, epoch))
        return Chain(kiosk, epoch) if row is None else Chain(kiosk, epoch, *row)

    def save_chain(self, c: Chain) -> None:
        self.execute(
            "INSERT INTO chains VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (kiosk, epoch) DO UPDATE SET "
            "upto = excluded.upto, head = excluded.head, max_seen = excluded.max_seen, "
            "last_time = excluded.last_time, last_mono = excluded.last_mono, last_bootid = excluded.last_bootid",
            (c.kiosk, c.epoch, c.upto, c.head, c.max_seen, c.last_time, c.last_mono, c.last_bootid))

    def stored_between(self, kiosk: str, epoch: int, lo: int, hi: int) -> dict[int, tuple[str, str, str]]:
        """seq → (token, hash, prev) of the records and rejected records in lo..hi: one query for
        a whole message (with several gateway processes a message often lands below
        ``max_seen``, where each line would otherwise cost two lookups)."""
        if hi < lo:
            return {}
        rows = self.execute(
            "SELECT seq, token, hash, prev FROM records WHERE kiosk = ? AND epoch = ? AND seq BETWEEN ? AND ? "
            "UNION ALL SELECT seq, token, hash, prev FROM rejected WHERE kiosk = ? AND epoch = ? "
            "AND seq BETWEEN ? AND ?", (kiosk, epoch, lo, hi, kiosk, epoch, lo, hi)).fetchall()
        return {int(r[0]): (r[1], r[2], r[3]) for r in rows}

    def knows_hash(self, kiosk: str, other_than: int, hash_: str) -> bool:
        """Whether a record of another epoch of this kiosk has this hash (epochs are random
        since contract 1.1, so "another", not "an earlier")."""
        return self.one("SELECT 1 FROM records WHERE kiosk = ? AND epoch <> ? AND hash = ? "
                        "UNION ALL SELECT 1 FROM rejected WHERE kiosk = ? AND epoch <> ? AND hash = ?",
                        (kiosk, other_than, hash_, kiosk, other_than, hash_)) is not None

    def has_other_epochs(self, kiosk: str, epoch: int) -> bool:
        return self.one("SELECT 1 FROM chains WHERE kiosk = ? AND epoch <> ? AND max_seen > 0",
                        (kiosk, epoch)) is not None

    def insert_records(self, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            self.cur.executemany(self.d.q(
                "INSERT INTO records (kiosk, epoch, seq, id, type, venue, time, hash, prev, token, flags, "
                "committed_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"), rows)

    def ids_taken(self, record_ids: list[str]) -> set[str]:
        """Which of these record ids are stored already (one query per message)."""
        if not record_ids:
            return set()
        marks = ",".join("?" * len(record_ids))
        return {r[0] for r in self.execute(f"SELECT id FROM {self.d.keys} WHERE id IN ({marks})",  # noqa: S608
                                           tuple(record_ids)).fetchall()}

    def insert_rejected(self, kiosk: str, epoch: int, seq: int, hash_: str, token: str, reason: str,
                        prev: str = "") -> None:
        self.execute("INSERT INTO rejected (kiosk, epoch, seq, hash, token, reason, rejected_ms, prev) "
                     "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (kiosk, epoch, seq) DO NOTHING",
                     (kiosk, epoch, seq, hash_, token, reason, int(time.time() * 1000), prev))

    def insert_refused(self, kiosk: str, epoch: int, seq: int, hash_: str, token: str, reason: str,
                       cap: int) -> str:
        """Keep a refused line: "kept", "known" (this kiosk's topic carried it before: kept once)
        or "full" (the kiosk already has ``cap`` refused lines kept: counted, not kept)."""
        if self.one("SELECT 1 FROM refused WHERE kiosk = ? AND hash = ?", (kiosk, hash_)) is not None:
            return "known"
        if self.one("SELECT count(*) FROM (SELECT 1 FROM refused WHERE kiosk = ? LIMIT ?) k",
                    (kiosk, cap))[0] >= cap:
            return "full"
        self.execute("INSERT INTO refused (kiosk, epoch, seq, hash, token, reason, refused_ms) "
                     "VALUES (?,?,?,?,?,?,?)", (kiosk, epoch, seq, hash_, token, reason, int(time.time() * 1000)))
        return "kept"

    def has_alert(self, kiosk: str, kind: str) -> bool:
        return self.one("SELECT 1 FROM alerts WHERE kiosk = ? AND kind = ?", (kiosk, kind)) is not None

    def unseat(self, kiosk: str, epoch: int, seq: int, reason: str) -> None:
        """Move the record or rejected record at a position into ``refused``: a signed record that
        turned out not to link to the chain (a stolen key) gives its position back, and what the
        plausibility checks noted of it (its credited minutes, a hold) goes with it."""
        row = self.one("SELECT id FROM records WHERE kiosk = ? AND epoch = ? AND seq = ?", (kiosk, epoch, seq))
        if row is not None:
            self.execute("DELETE FROM attendance WHERE record_id = ?", (row[0],))
            self.execute("DELETE FROM held WHERE record_id = ?", (row[0],))
        for table in ("records", "rejected"):
            self.execute(f"INSERT INTO refused (kiosk, epoch, seq, hash, token, reason, refused_ms) "  # noqa: S608
                         f"SELECT kiosk, epoch, seq, hash, token, ?, ? FROM {table} "
                         f"WHERE kiosk = ? AND epoch = ? AND seq = ?",
                         (reason, int(time.time() * 1000), kiosk, epoch, seq))
            self.execute(f"DELETE FROM {table} WHERE kiosk = ? AND epoch = ? AND seq = ?",  # noqa: S608
                         (kiosk, epoch, seq))

    def delete_rejected(self, kiosk: str, epoch: int, seq: int) -> None:
        self.execute("DELETE FROM rejected WHERE kiosk = ? AND epoch = ? AND seq = ?", (kiosk, epoch, seq))

    def alert(self, kiosk: str, kind: str, detail: str) -> None:
        self.execute("INSERT INTO alerts VALUES (?,?,?,?)", (int(time.time() * 1000), kiosk, kind, detail))
        log.error("alert for kiosk %s: %s %s", kiosk, kind, detail)

    def following(self, kiosk: str, epoch: int, after: int, upto: int) -> list[tuple[int, str, str]]:
        """(seq, hash, prev) of stored and rejected records in after+1..upto, in order."""
        rows = self.execute(
            "SELECT seq, hash, prev FROM records WHERE kiosk = ? AND epoch = ? AND seq > ? AND seq <= ? "
            "UNION ALL SELECT seq, hash, prev FROM rejected WHERE kiosk = ? AND epoch = ? AND seq > ? AND seq <= ? "
            "ORDER BY 1", (kiosk, epoch, after, upto, kiosk, epoch, after, upto)).fetchall()
        return [(int(r[0]), r[1], r[2]) for r in rows]

    def present_between(self, kiosk: str, epoch: int, lo: int, hi: int) -> dict[int, int]:
        """seq → when it was stored (ms) for the records and rejected records in lo..hi."""
        rows = self.execute(
            "SELECT seq, committed_ms FROM records WHERE kiosk = ? AND epoch = ? AND seq BETWEEN ? AND ? "
            "UNION ALL SELECT seq, rejected_ms FROM rejected WHERE kiosk = ? AND epoch = ? AND seq BETWEEN ? AND ?",
            (kiosk, epoch, lo, hi, kiosk, epoch, lo, hi)).fetchall()
        return {int(r[0]): int(r[1]) for r in rows}

    # --- plausibility (gateway/plausibility.py) ---------------------------------------------

    def note_attendance(self, record_id: str, kind: str, learner: str, venue: str, day: str, minutes: int) -> None:
        self.execute("INSERT INTO attendance VALUES (?,?,?,?,?,?) ON CONFLICT (record_id) DO NOTHING",
                     (record_id, kind, learner, venue, day, minutes))

    def note_session(self, session_id: str, venue: str, minutes: int) -> None:
        self.execute("INSERT INTO planned_sessions VALUES (?,?,?) ON CONFLICT (session_id) DO NOTHING",
                     (session_id, venue, minutes))

    def planned_minutes(self, session_id: str) -> int | None:
        """The planned length of a session opened by a stored (not held) record."""
        row = self.one("SELECT minutes FROM planned_sessions WHERE session_id = ?", (session_id,))
        return None if row is None else int(row[0])

    def checkin_of(self, record_id: str) -> tuple[str, str] | None:
        """(learner, venue) of a stored check-in."""
        row = self.one("SELECT learner, venue FROM attendance WHERE record_id = ? AND kind = 'attendance.checkin'",
                       (record_id,))
        return None if row is None else (row[0], row[1])

    def not_in_use(self, record_id: str) -> bool:
        """Whether a stored record is held for review or void (not to be published)."""
        return self.one("SELECT 1 FROM held WHERE record_id = ? AND state <> ?", (record_id, ACCEPTED)) is not None

    def credited_minutes(self, learner: str, day: str) -> int:
        """Minutes credited to a learner on a day, but for records held or voided."""
        row = self.one("SELECT coalesce(sum(a.minutes), 0) FROM attendance a LEFT JOIN held h "
                       "ON h.record_id = a.record_id WHERE a.learner = ? AND a.day = ? "
                       "AND (h.state IS NULL OR h.state = ?)", (learner, day, ACCEPTED))
        return int(row[0])

    def hold(self, record_id: str, kiosk: str, reasons: list[str], waits_for: str = "") -> None:
        """Hold a record for review; ``waits_for``: the check-in whose arrival releases it."""
        self.execute("INSERT INTO held (record_id, kiosk, reasons, state, held_ms, waits_for) VALUES (?,?,?,?,?,?) "
                     "ON CONFLICT (record_id) DO NOTHING",
                     (record_id, kiosk, ",".join(reasons), HELD, int(time.time() * 1000), waits_for))

    def release_waiting(self, checkin_id: str, learner: str, venue: str) -> list[str]:
        """Release the check-outs held only for want of this check-in (same learner, same
        venue); returns their record ids."""
        rows = self.execute(
            "SELECT h.record_id FROM held h JOIN attendance a ON a.record_id = h.record_id "
            "WHERE h.waits_for = ? AND h.state = ? AND a.learner = ? AND a.venue = ?",
            (checkin_id, HELD, learner, venue)).fetchall()
        released = [r[0] for r in rows]
        for record_id in released:
            self.execute("UPDATE held SET state = ?, decided_ms = ?, note = ? WHERE record_id = ?",
                         (ACCEPTED, int(time.time() * 1000), "released: its check-in arrived", record_id))
        return released

    def touch_kiosk(self, kiosk: str) -> None:
        self.execute("INSERT INTO kiosk_status (kiosk, status, received_ms, last_record_ms) VALUES (?, '{}', 0, ?) "
                     "ON CONFLICT (kiosk) DO UPDATE SET last_record_ms = excluded.last_record_ms",
                     (kiosk, int(time.time() * 1000)))


def _wal(conn: sqlite3.Connection, patience: float = 30.0) -> None:
    """Put the file in WAL mode. Switching a new file to WAL needs it to itself for a moment,
    and SQLite answers "database is locked" at once, without waiting, while another process
    opens it too: so wait and try again."""
    deadline = time.monotonic() + patience
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Store:
    """A connection and its dialect. Thread-safe: one transaction at a time."""

    def __init__(self, conn: Any, dialect: Dialect, *, migrate: bool = True) -> None:
        self.conn = conn
        self.d = dialect
        self._lock = threading.Lock()
        if migrate:
            self._migrate()

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Store:
        """``sqlite:///path`` (WAL) or ``postgresql://…``. ``migrate=False`` for a read
        replica, which refuses every write (its primary has the migrations)."""
        if url.startswith("sqlite:///"):
            path = Path(url[len("sqlite:///") - 1:])
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
                _wal(conn)
                conn.execute("PRAGMA synchronous=FULL")
            except (OSError, sqlite3.Error) as err:
                raise StoreError(f"cannot open the store {path}: {err}") from err
            return cls(conn, Dialect(), migrate=migrate)
        if url.startswith(("postgresql://", "postgres://")):
            import psycopg

            try:
                # keepalives: a vanished gateway host's session (and its relay lease) ends in ~15 s
                extra = {} if "keepalives" in url else {"keepalives": 1, "keepalives_idle": 5,
                                                         "keepalives_interval": 2, "keepalives_count": 3}
                conn = psycopg.connect(url, autocommit=True, **extra)
            except psycopg.Error as err:
                raise StoreError(f"cannot connect to the store: {err}") from err
            return cls(conn, Postgres(), migrate=migrate)
        raise StoreError(f"store.url {url!r}: expected sqlite:///path or postgresql://…")

    def _migrate(self) -> None:
        """Apply missing migrations. Safe when several processes open the same store at once
        (the gateway and its workers, a report run): each migration is checked and applied in
        one write transaction, serialised by SQLite's write lock or a PostgreSQL advisory lock.
        A store with migrations this program does not know is refused, unchanged."""
        with self.tx() as tx:
            if self.d.name == "postgresql":  # CREATE … IF NOT EXISTS races in PostgreSQL without it
                tx.execute("SELECT pg_advisory_xact_lock(hashtext('learncard-migrations'))")
            tx.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_ms BIGINT)")
            applied = [r[0] for r in tx.execute("SELECT name FROM migrations").fetchall()]
        try:
            migrations.pending([name for name, _ in SCHEMA], applied)
        except migrations.NewerDatabase as err:
            raise StoreError(f"the store was written by a newer LearnCard (migrations {err}): run that "
                             "version again (docs/operations.md, rollback); nothing was changed") from err
        for name, sql in SCHEMA:
            with self.tx() as tx:
                if self.d.name == "postgresql":
                    tx.execute("SELECT pg_advisory_xact_lock(hashtext('learncard-migrations'))")
                tx.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_ms BIGINT)")
                if tx.one("SELECT name FROM migrations WHERE name = ?", (name,)) is not None:
                    continue
                if callable(sql):
                    sql(tx)
                else:
                    for statement in sql.format(serial=self.d.serial, txid_default=self.d.txid_default).split(";"):
                        if statement.strip():
                            tx.execute(statement)
                tx.execute("INSERT INTO migrations VALUES (?, ?)", (name, int(time.time() * 1000)))
            log.info("store migration %s applied", name)
        try:
            self.ensure_months()
        except Exception as err:  # noqa: BLE001 (psycopg's LockNotAvailable, or any: never fatal here)
            log.warning("store: the next months' partitions could not be made now (%s); rows go to "
                        "records_default until the gateway's next pass makes them", err)

    def ensure_months(self, now_ms: int | None = None) -> list[str]:
        """PostgreSQL: this month's partition of ``records`` and the next two exist (made at
        start and daily by the gateway; gateway/partitions.py). Returns the ones made."""
        if self.d.name != "postgresql":
            return []
        with self.tx() as tx:
            made = partitions.ensure_months(tx, now_ms)
        if made:
            log.info("store: partitions %s made", ", ".join(made))
        return made

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        with self._lock:
            cur = self.conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE" if self.d.name == "sqlite" else "BEGIN")
                yield Tx(cur, self.d)
                cur.execute("COMMIT")
            except BaseException:
                try:
                    cur.execute("ROLLBACK")
                except Exception:  # noqa: BLE001, S110 - the original error matters more
                    pass
                raise

    # --- reading -------------------------------------------------------------------------

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            cur = self.conn.cursor()
            cur.execute(self.d.q(sql), params)
            return [tuple(r) for r in cur.fetchall()]

    def count(self) -> int:
        return int(self.query("SELECT count(*) FROM records")[0][0])

    def tokens(self, kiosk: str | None = None) -> list[str]:
        if kiosk is None:
            return [r[0] for r in self.query("SELECT token FROM records ORDER BY rowid_")]
        return [r[0] for r in self.query("SELECT token FROM records WHERE kiosk = ? ORDER BY epoch, seq", (kiosk,))]

    def records_after(self, cursor: int, limit: int) -> list[tuple[int, str]]:
        """(commit sequence, token) of committed records after ``cursor``, in commit order —
        for use: records held for review (or voided) are left out, accepted ones are in."""
        return [(int(r[0]), r[1]) for r in self.query(
            "SELECT rowid_, token FROM records WHERE rowid_ > ? AND id NOT IN "
            "(SELECT record_id FROM held WHERE state <> ?) ORDER BY rowid_ LIMIT ?", (cursor, ACCEPTED, limit))]

    def held_records(self, state: str | None = HELD) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT h.record_id, h.kiosk, h.reasons, h.state, h.held_ms, h.decided_ms, h.note, r.type, r.venue, "
            "r.time, r.token FROM held h JOIN records r ON r.id = h.record_id "
            "WHERE (? = '' OR h.state = ?) ORDER BY h.held_ms, r.rowid_", (state or "", state or ""))
        keys = ("record_id", "kiosk", "reasons", "state", "held_ms", "decided_ms", "note", "type", "venue", "time",
                "token")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def decide(self, record_id: str, state: str, note: str) -> bool:
        """Accept or void a held record (only a record still held); False if there is none."""
        with self.tx() as tx:
            done = tx.execute("UPDATE held SET state = ?, decided_ms = ?, note = ? WHERE record_id = ? AND state = ?",
                              (state, int(time.time() * 1000), note, record_id, HELD)).rowcount
        return bool(done)

    def released_behind(self, position: tuple[int, int] | int) -> list[tuple[str, str]]:
        """(record id, token) of accepted records the relay's cursor ((txid, rowid_), commit
        order; a bare ``rowid_`` means every transaction) passed while they were held."""
        if not self.query("SELECT 1 FROM held WHERE state = ? AND relayed = 0 LIMIT 1", (ACCEPTED,)):
            return []  # the usual case, answered from the small table alone (never a walk of records)
        if isinstance(position, int):
            behind, params = "r.rowid_ <= ?", (position,)
        else:
            behind, params = "(r.txid < ? OR (r.txid = ? AND r.rowid_ <= ?))", (position[0], *position)
        return [(r[0], r[1]) for r in self.query(
            "SELECT r.id, r.token FROM held h JOIN records r ON r.id = h.record_id "  # noqa: S608 (fixed text)
            f"WHERE h.state = ? AND h.relayed = 0 AND {behind} ORDER BY r.txid, r.rowid_", (ACCEPTED, *params))]

    def mark_relayed(self, record_id: str) -> None:
        with self.tx() as tx:
            tx.execute("UPDATE held SET relayed = 1 WHERE record_id = ?", (record_id,))

    def known_positions(self, kiosk: str, lines: list[tuple[int, int, str]]) -> dict[tuple[int, int, str], str]:
        """Which (epoch, seq, hash) of this kiosk are stored or rejected already — "" for a
        stored record, the reason for a rejected one: a re-sent record is found by this one
        indexed query, before any signature is checked."""
        if not lines:
            return {}
        hashes = sorted({h for _, _, h in lines})
        marks = ",".join("?" * len(hashes))
        rows = self.query(
            f"SELECT epoch, seq, hash, '' FROM records WHERE kiosk = ? AND hash IN ({marks}) "  # noqa: S608
            f"UNION ALL SELECT epoch, seq, hash, reason FROM rejected WHERE kiosk = ? AND hash IN ({marks})",
            (kiosk, *hashes, kiosk, *hashes))
        wanted = set(lines)
        return {(int(e), int(s), h): r for e, s, h, r in rows if (int(e), int(s), h) in wanted}

    def refused_rows(self, kiosk: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        where, params = ("WHERE kiosk = ? ", (kiosk,)) if kiosk else ("", ())
        rows = self.query("SELECT kiosk, epoch, seq, hash, reason, refused_ms, length(token) FROM refused "  # noqa: S608
                          + where + "ORDER BY rowid_ DESC LIMIT ?", (*params, limit))
        return [{"kiosk": k, "epoch": e, "seq": s, "hash": h, "reason": r, "refused_ms": ms, "bytes": n}
                for k, e, s, h, r, ms, n in rows]

    def rejected_rows(self, kiosk: str | None = None, reason: str | None = None) -> list[dict[str, Any]]:
        """Rejected records (kiosk, epoch, seq, reason, rejected_ms, token), in chain order."""
        rows = self.query("SELECT kiosk, epoch, seq, reason, rejected_ms, token FROM rejected "
                          "WHERE (? = '' OR kiosk = ?) AND (? = '' OR reason = ?) ORDER BY kiosk, epoch, seq",
                          (kiosk or "", kiosk or "", reason or "", reason or ""))
        return [{"kiosk": k, "epoch": int(e), "seq": int(s), "reason": r, "rejected_ms": ms, "token": t}
                for k, e, s, r, ms, t in rows]

    def records_in_commit_order(self, after: tuple[int, int], limit: int) -> list[tuple[tuple[int, int], str]]:
        """((txid, rowid_), token) of records after ``after`` that no running transaction can
        still precede, in commit order (see migration 0008) — for the relay: records held for
        review (or voided) are left out, accepted ones are in (as ``records_after``)."""
        txid, rowid = after
        pending = "id NOT IN (SELECT record_id FROM held WHERE state <> ?)"
        return [((int(r[0]), int(r[1])), r[2]) for r in self.query(  # noqa: S608 (fixed text)
            # two ranges of the (txid, rowid_) index, each read in order only up to the limit: the
            # rest of the cursor's transaction, then later transactions (the OR of the two was
            # answered by a range on txid alone: every row of the cursor's transaction read again
            # for every batch — on SQLite, where txid is always 0, every record in the store)
            f"SELECT * FROM (SELECT txid, rowid_, token FROM records WHERE txid = ? AND rowid_ > ? AND {pending} "  # noqa: S608
            "ORDER BY txid, rowid_ LIMIT ?) AS same_tx UNION ALL "
            f"SELECT * FROM (SELECT txid, rowid_, token FROM records WHERE txid > ? AND txid < {self.d.horizon} "
            f"AND {pending} ORDER BY txid, rowid_ LIMIT ?) AS later_tx ORDER BY 1, 2 LIMIT ?",
            (txid, rowid, ACCEPTED, limit, txid, ACCEPTED, limit, limit))]

    def set_status(self, kiosk: str, status: dict[str, Any]) -> None:
        with self.tx() as tx:
            tx.execute("INSERT INTO kiosk_status (kiosk, status, received_ms) VALUES (?,?,?) ON CONFLICT (kiosk) "
                       "DO UPDATE SET status = excluded.status, received_ms = excluded.received_ms",
                       (kiosk, json.dumps(status), int(time.time() * 1000)))

    def kiosk_table(self) -> list[dict[str, Any]]:
        rows = self.query("SELECT kiosk, status, received_ms, last_record_ms FROM kiosk_status ORDER BY kiosk")
        return [{"kiosk": k, "status": json.loads(s or "{}"), "status_received_ms": r, "last_record_ms": lr}
                for k, s, r, lr in rows]

    def close(self) -> None:
        self.conn.close()

