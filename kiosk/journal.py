"""The kiosk's journal: every signed record, its outbox state and the agent's state, in one
SQLite file (WAL, ``synchronous=FULL``).

Durable before acknowledged: :meth:`Journal.transaction` commits (fsync) before it returns,
and only then may a tap be answered "done". A record leaves the outbox only when a gateway
receipt settles it, and only a receipt whose ``head`` is the hash of this journal's own
record at its ``upto`` (contract 1.1): any other settles nothing and raises
:class:`ReceiptMismatch`. A corrupt file is renamed and kept; every new journal file takes a
fresh random epoch (1 ≤ e < 2³¹, never the one before: record.md 1.1) whose first record
links to the ``head`` of the last receipt, kept in a small file *outside* the database
(``<journal>.head``) so that it survives the database — or to ``""`` when that file is gone
too (a replaced storage card), which the gateway accepts as a fresh start.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.errors import JournalError, JournalFull, JournalReadOnly, ReceiptMismatch
from kiosk.journal_state import STATE_MIGRATIONS, VenueState
from records import migrations
from records.record import Record, link_hash

log = logging.getLogger(__name__)

Make = Callable[[int, int, str], Record]  # (epoch, seq, prev) -> signed record
EPOCH_LIMIT = 2**31  # epochs are 1 ≤ e < 2³¹ (CloudEvents integers)


def new_epoch(previous: int | None = None) -> int:
    """A fresh random epoch, never the previous one: a kiosk that lost its journal (and the
    head file with it) cannot know which epochs it used, so it picks one at random."""
    while True:
        epoch = 1 + secrets.randbelow(EPOCH_LIMIT - 1)
        if epoch != previous:
            return epoch

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001-records",
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE records (
            epoch INTEGER NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL, token TEXT NOT NULL, created_ms INTEGER NOT NULL,
            settled INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (epoch, seq));
        CREATE INDEX records_outbox ON records (settled, epoch, seq);
        CREATE TABLE rejected (
            epoch INTEGER NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, token TEXT NOT NULL,
            reason TEXT NOT NULL, rejected_ms INTEGER NOT NULL, PRIMARY KEY (epoch, seq));
        """,
    ),
    (
        "0002-agent-state",
        """
        CREATE TABLE sessions (
            session_id TEXT PRIMARY KEY, course TEXT NOT NULL, category TEXT NOT NULL,
            staff_id TEXT NOT NULL, planned_start TEXT NOT NULL, planned_end TEXT NOT NULL,
            credit_rule TEXT NOT NULL, opened_at TEXT NOT NULL, closed_at TEXT,
            attendances INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE open_checkins (
            learner TEXT PRIMARY KEY, record_id TEXT NOT NULL, card TEXT NOT NULL,
            session_id TEXT, wall TEXT NOT NULL, mono INTEGER NOT NULL, bootid TEXT NOT NULL);
        CREATE TABLE last_taps (
            learner TEXT PRIMARY KEY, kind TEXT NOT NULL, wall TEXT NOT NULL,
            mono INTEGER NOT NULL, bootid TEXT NOT NULL);
        CREATE TABLE learner_days (
            learner TEXT NOT NULL, day TEXT NOT NULL, seconds INTEGER NOT NULL DEFAULT 0,
            minutes INTEGER NOT NULL DEFAULT 0, self_study_minutes INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (learner, day));
        CREATE TABLE learner_years (
            learner TEXT NOT NULL, year INTEGER NOT NULL, minutes INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (learner, year));
        CREATE TABLE ratings (
            checkout_id TEXT PRIMARY KEY, record_id TEXT NOT NULL, day TEXT NOT NULL,
            score INTEGER NOT NULL);
        """,
    ),
    (
        "0003-staff-lockout",
        """
        CREATE TABLE staff_lockout (
            card TEXT PRIMARY KEY, failures INTEGER NOT NULL, locked_until_ms INTEGER NOT NULL);
        """,
    ),
]
ALL_MIGRATIONS = [*MIGRATIONS, *STATE_MIGRATIONS]  # the agent's state tables: kiosk/journal_state.py


@dataclass(frozen=True)
class Pending:
    epoch: int
    seq: int
    token: str
    created_ms: int


@dataclass(frozen=True)
class JournalStats:
    pending: int
    oldest_pending_ms: int | None
    bytes: int
    epoch: int
    seq: int
    full: bool
    rejected: int


@dataclass(frozen=True)
class HeadFile:
    """What survives the database: the epoch in use and the last receipt's head."""

    epoch: int
    receipt_epoch: int
    upto: int
    head: str

    @staticmethod
    def read(path: Path) -> HeadFile | None:
        try:
            data = json.loads(path.read_text())
            return HeadFile(int(data["epoch"]), int(data["receipt_epoch"]), int(data["upto"]),
                            str(data["head"]))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.warning("head file %s is unreadable (%s); starting from no receipt", path, err)
            return None

    def write(self, path: Path) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        with open(tmp, "w") as handle:
            json.dump(self.__dict__, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _translate(err: sqlite3.Error) -> JournalError:
    text = str(err).lower()
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return JournalReadOnly(
            "签到记录无法保存：存储只读，请联系管理员",
            "cannot save the record: the journal is read-only; please call the administrator",
        )
    if "disk is full" in text or "database or disk is full" in text:
        return JournalFull(
            "存储空间已满，暂停签到，请联系管理员",
            "the disk is full: check-ins are paused; please call the administrator",
        )
    return JournalError("签到记录无法保存，请联系管理员",
                        f"cannot save the record ({err}); please call the administrator")


class Tx:
    """One write transaction: appends get their chain position here."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.conn = journal.conn
        self.appended: list[Record] = []

    def append(self, make: Make) -> Record:
        j = self.journal
        rec = make(j.epoch, j.seq + 1, j.head)
        if (rec.epoch, rec.seq, rec.prev) != (j.epoch, j.seq + 1, j.head):
            raise ValueError("the record was not made at the chain position it was given")
        self.conn.execute(
            "INSERT INTO records (epoch, seq, id, type, token, created_ms) VALUES (?,?,?,?,?,?)",
            (rec.epoch, rec.seq, rec.id, rec.type, rec.token, int(time.time() * 1000)),
        )
        j.seq, j.head = rec.seq, rec.hash
        self.appended.append(rec)
        return rec

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    @property
    def state(self) -> VenueState:
        """The agent's state tables, inside this transaction."""
        return VenueState(self.conn)


class Journal:
    """The journal file. One writer (the agent); the uplink may use its own instance."""

    def __init__(self, conn: sqlite3.Connection, path: Path, head_file: Path, max_bytes: int):
        self.conn = conn
        self.path = path
        self.head_file = head_file
        self.max_bytes = max_bytes
        self.epoch, self.seq, self.head = self._position()

    # --- opening -------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, max_bytes: int = 512 * 1024 * 1024,
             head_file: Path | None = None) -> Journal:
        """Open (or create) the journal; quarantine a corrupt file and start a new epoch."""
        path = Path(path)
        head_file = head_file or path.with_name(path.name + ".head")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise JournalReadOnly("无法创建签到记录目录", f"cannot create {path.parent}: {err}") from err
        try:
            conn = cls._connect(path)
            problem = cls._check(conn)
        except sqlite3.DatabaseError as err:
            problem = str(err)
            conn = None
        if problem is not None:
            if conn is not None:
                conn.close()
            cls.quarantine(path, problem)
            try:
                conn = cls._connect(path)
            except sqlite3.Error as err:
                raise _translate(err) from err
        assert conn is not None
        try:
            cls._migrate(conn)
            cls._start_epoch(conn, head_file)
        except sqlite3.Error as err:
            conn.close()
            raise _translate(err) from err
        return cls(conn, path, head_file, max_bytes)

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    @staticmethod
    def _check(conn: sqlite3.Connection) -> str | None:
        rows = conn.execute("PRAGMA quick_check").fetchall()
        return None if rows == [("ok",)] else "; ".join(str(r[0]) for r in rows[:5])

    @staticmethod
    def quarantine(path: Path, problem: str) -> Path:
        """Rename a corrupt journal (and its WAL) aside; never delete it."""
        stamp = time.strftime("%Y%m%dT%H%M%S")
        target = path.with_name(f"{path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(path) + suffix)
            if src.exists():
                os.replace(src, Path(str(target) + suffix))
        log.error("journal %s failed its check (%s): quarantined as %s", path, problem, target)
        return target

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_ms INTEGER)")
        applied = [r[0] for r in conn.execute("SELECT name FROM migrations")]
        try:
            todo = migrations.pending([name for name, _ in ALL_MIGRATIONS], applied)
        except migrations.NewerDatabase as err:
            raise JournalError(
                f"签到记录库来自更新的版本（{err}），请重新升级本机；记录未被改动",
                f"the journal was written by a newer LearnCard (migrations {err}): install that version "
                "again (docs/operations.md, rollback); nothing was changed") from err
        for name, sql in ALL_MIGRATIONS:
            if name not in todo:
                continue
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in sql.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("INSERT INTO migrations VALUES (?, ?)", (name, int(time.time() * 1000)))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            log.info("journal migration %s applied", name)

    @staticmethod
    def _start_epoch(conn: sqlite3.Connection, head_file: Path) -> None:
        """A new database takes a fresh random epoch, linked to the head the head file names."""
        if conn.execute("SELECT 1 FROM meta WHERE key = 'epoch'").fetchone():
            return
        previous = HeadFile.read(head_file)
        epoch = new_epoch(None if previous is None else previous.epoch)
        prev = "" if previous is None else previous.head
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [("epoch", str(epoch)), ("seq", "0"), ("head", prev),
             ("receipt", json.dumps([0, 0, ""]))],
        )
        conn.execute("COMMIT")
        receipt = (0, 0, "") if previous is None else (
            previous.receipt_epoch, previous.upto, previous.head)
        HeadFile(epoch, *receipt).write(head_file)
        if previous is not None:
            log.warning("journal starts epoch %d linked to the last receipt's head", epoch)
        else:
            log.warning("journal starts epoch %d from nothing (a new kiosk, or one that lost its storage)", epoch)

    def _position(self) -> tuple[int, int, str]:
        meta = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
        return int(meta["epoch"]), int(meta["seq"]), meta["head"]

    @property
    def state(self) -> VenueState:
        """The agent's state tables (reads outside a transaction)."""
        return VenueState(self.conn)

    def close(self) -> None:
        self.conn.close()

    # --- writing --------------------------------------------------------------------

    def size(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            try:
                total += os.path.getsize(str(self.path) + suffix)
            except OSError:
                pass
        return total

    def check_room(self) -> None:
        if self.size() >= self.max_bytes:
            raise JournalFull(
                "签到记录已满，暂停签到，请联系管理员（旧记录都已保留）",
                "the journal is full: check-ins are paused, no record was dropped; "
                "please call the administrator",
            )

    @contextmanager
    def transaction(self, *, new_records: bool = True) -> Iterator[Tx]:
        """A write transaction, committed (fsync) before the ``with`` block's end returns.

        ``new_records``: refuse when the journal is full (pruning must still work then).
        """
        if new_records:
            self.check_room()
        position = (self.epoch, self.seq, self.head)
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            raise _translate(err) from err
        tx = Tx(self)
        try:
            yield tx
            if tx.appended:
                self.conn.execute(
                    "UPDATE meta SET value = CASE key WHEN 'seq' THEN ? WHEN 'head' THEN ? END "
                    "WHERE key IN ('seq', 'head')", (str(self.seq), self.head))
            self.conn.execute("COMMIT")
        except BaseException as err:
            self.epoch, self.seq, self.head = position
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            if isinstance(err, sqlite3.Error):
                raise _translate(err) from err
            raise

    def append(self, make: Make) -> Record:
        with self.transaction() as tx:
            return tx.append(make)

    def append_many(self, makers: list[Make]) -> list[Record]:
        """Several records in one commit (a burst)."""
        with self.transaction() as tx:
            return [tx.append(make) for make in makers]

    # --- the outbox -----------------------------------------------------------------

    def pending(self, limit: int, after: tuple[int, int] | None = None) -> list[Pending]:
        e, s = after or (0, 0)
        rows = self.conn.execute(
            "SELECT epoch, seq, token, created_ms FROM records WHERE settled = 0 "
            "AND (epoch > ? OR (epoch = ? AND seq > ?)) ORDER BY epoch, seq LIMIT ?",
            (e, e, s, limit),
        ).fetchall()
        return [Pending(*row) for row in rows]

    def records_between(self, epoch: int, first: int, last: int) -> list[str]:
        rows = self.conn.execute(
            "SELECT token FROM records WHERE epoch = ? AND seq BETWEEN ? AND ? ORDER BY seq",
            (epoch, first, last),
        ).fetchall()
        return [r[0] for r in rows]

    def settle(self, epoch: int, upto: int, head: str,
               rejected: list[tuple[int, str]] | None = None) -> int:
        """Apply a receipt; returns how many records left the outbox.

        Only a receipt whose ``head`` is the hash of this journal's record at ``upto`` settles
        anything; any other raises :class:`ReceiptMismatch` and changes nothing (a forged or
        confused receipt must not drop records from the outbox or move them to ``rejected``).
        The largest ``upto`` seen wins (receipts may arrive out of order). Rejected records
        (at or below ``upto``) move to the kept ``rejected`` table. Callable without MQTT
        (a receipt carried by hand).
        """
        now = int(time.time() * 1000)
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            problem = self._receipt_problem(epoch, upto, head)
            if problem is not None:
                self.conn.execute("ROLLBACK")
                log.error("a receipt for %d/%d does not match this journal (%s): nothing settled",
                          epoch, upto, problem)
                raise ReceiptMismatch(
                    "收到的回执与本机记录不符，未作处理，请联系县信息中心",
                    f"a gateway receipt (epoch {epoch}, upto {upto}) does not match this kiosk's records "
                    f"({problem}): nothing was settled; please tell county IT")
            for seq, reason in rejected or []:
                if not 1 <= seq <= upto:
                    continue  # a rejected record is settled: above upto the receipt is not consistent
                row = self.conn.execute(
                    "SELECT id, token FROM records WHERE epoch = ? AND seq = ?", (epoch, seq)
                ).fetchone()
                if row is not None:
                    self.conn.execute(
                        "INSERT OR REPLACE INTO rejected VALUES (?,?,?,?,?,?)",
                        (epoch, seq, row[0], row[1], reason, now),
                    )
                    self.conn.execute("DELETE FROM records WHERE epoch = ? AND seq = ?", (epoch, seq))
                    log.error("the gateway rejected record %d/%d: %s", epoch, seq, reason)
            cur = self.conn.execute(
                "UPDATE records SET settled = 1 WHERE epoch = ? AND seq <= ? AND settled = 0",
                (epoch, upto),
            )
            settled = cur.rowcount
            (stored,) = self.conn.execute("SELECT value FROM meta WHERE key = 'receipt'").fetchone()
            r_epoch, r_upto, _ = json.loads(stored)
            newer = upto > 0 and (epoch != r_epoch or upto > r_upto)
            if newer:
                self.conn.execute("UPDATE meta SET value = ? WHERE key = 'receipt'",
                                  (json.dumps([epoch, upto, head]),))
            self.conn.execute("COMMIT")
        except sqlite3.Error as err:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise _translate(err) from err
        if newer and head:
            HeadFile(self.epoch, epoch, upto, head).write(self.head_file)
        return settled

    def _receipt_problem(self, epoch: int, upto: int, head: str) -> str | None:
        """Why a receipt does not match this journal, or None (inside the settle transaction)."""
        if upto <= 0:
            return None  # settles nothing (e.g. an answer to lines the gateway refused)
        row = self.conn.execute("SELECT token FROM records WHERE epoch = ? AND seq = ?", (epoch, upto)).fetchone()
        if row is None:
            row = self.conn.execute("SELECT token FROM rejected WHERE epoch = ? AND seq = ?",
                                    (epoch, upto)).fetchone()
        if row is not None:
            return None if link_hash(row[0]) == head else "head differs from this kiosk's record"
        # no record there: pruned long ago (harmless), or never made by this journal
        (unsettled,) = self.conn.execute(
            "SELECT count(*) FROM records WHERE epoch = ? AND seq <= ? AND settled = 0", (epoch, upto)).fetchone()
        made = int(self.conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0])
        epoch_now = int(self.conn.execute("SELECT value FROM meta WHERE key = 'epoch'").fetchone()[0])
        if unsettled or (epoch == epoch_now and upto > made):
            return "this kiosk has no record at that position"
        return None

    def stats(self) -> JournalStats:
        pending, oldest = self.conn.execute(
            "SELECT count(*), min(created_ms) FROM records WHERE settled = 0").fetchone()
        (rejected,) = self.conn.execute("SELECT count(*) FROM rejected").fetchone()
        size = self.size()
        epoch, seq, _ = self._position()
        return JournalStats(pending, oldest, size, epoch, seq, size >= self.max_bytes, rejected)

    def prune(self, now_ms: int, retention_days: int) -> int:
        """Delete settled records older than the retention (summaries are kept elsewhere)."""
        cutoff = now_ms - retention_days * 86_400_000
        with self.transaction(new_records=False) as tx:
            return tx.execute(
                "DELETE FROM records WHERE settled = 1 AND created_ms < ?", (cutoff,)).rowcount

    # --- staff PIN lock-out: kept here so that restarting the agent does not clear it ----

    def pin_failures(self, card: str) -> tuple[int, int]:
        """(wrong PINs in a row, locked until, unix ms) of a staff card."""
        row = self.conn.execute("SELECT failures, locked_until_ms FROM staff_lockout WHERE card = ?",
                                (card,)).fetchone()
        return (0, 0) if row is None else (int(row[0]), int(row[1]))

    def set_pin_failures(self, card: str, failures: int, locked_until_ms: int) -> None:
        with self.transaction(new_records=False) as tx:
            if failures == 0 and locked_until_ms == 0:
                tx.execute("DELETE FROM staff_lockout WHERE card = ?", (card,))
            else:
                tx.execute("INSERT INTO staff_lockout VALUES (?, ?, ?) ON CONFLICT (card) DO UPDATE SET "
                           "failures = excluded.failures, locked_until_ms = excluded.locked_until_ms",
                           (card, failures, locked_until_ms))

    def quick_check(self) -> str | None:
        return self._check(self.conn)
