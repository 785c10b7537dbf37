"""The records table by month on PostgreSQL (store migration ``0010-records-by-month``).

``records`` is range-partitioned on ``committed_ms`` (when the gateway stored the row, UTC
months): one partition per month, ``records_YYYY_MM``, and ``records_default`` for a row
whose month has none, so an insert never fails for want of a partition. Each month's
indexes stay the size of a month, and an old month can be detached and archived whole.

PostgreSQL requires the partition key in every unique index, so the store's two global
uniqueness rules live in ``record_keys`` (id, kiosk, epoch, seq): its primary key is the
record id and it is unique on (kiosk, epoch, seq). Triggers on ``records`` add a row's keys
when it is inserted and remove them when it is deleted, in the same statement: a duplicate
id or a taken chain position fails the transaction exactly as the unique constraints of
``records`` did, whoever writes (this release's ingest, a process of the previous release
still running during an upgrade, a hand-written INSERT). A detached month keeps its keys.

SQLite keeps its single table: nothing here runs on it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

MONTHS_AHEAD = 2  # this month and the next two exist at any time (made at start and daily)
LOCK_TIMEOUT = "2s"  # how long making a partition waits for the tables' locks
COLUMNS = "rowid_, kiosk, epoch, seq, id, type, venue, time, hash, prev, token, flags, committed_ms, txid"

PARENT = """
    CREATE TABLE records (
        rowid_ BIGINT NOT NULL DEFAULT nextval('records_rowid__seq'), kiosk TEXT NOT NULL,
        epoch INTEGER NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL,
        venue TEXT NOT NULL, time TEXT NOT NULL, hash TEXT NOT NULL, prev TEXT NOT NULL, token TEXT NOT NULL,
        flags TEXT NOT NULL DEFAULT '', committed_ms BIGINT NOT NULL,
        txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint))
    PARTITION BY RANGE (committed_ms)"""
KEYS = "CREATE TABLE record_keys (id TEXT NOT NULL, kiosk TEXT NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL)"
# built after a bulk copy (faster than maintained row by row); each partition gets its own
INDEXES = (
    "ALTER TABLE records ADD CONSTRAINT records_pkey PRIMARY KEY (rowid_, committed_ms)",
    "CREATE INDEX records_id ON records (id)",
    "CREATE INDEX records_position ON records (kiosk, epoch, seq)",
    "CREATE INDEX records_hash ON records (kiosk, hash)",
    "CREATE INDEX records_commit_order ON records (txid, rowid_)",
    "ALTER TABLE record_keys ADD CONSTRAINT record_keys_pkey PRIMARY KEY (id)",
    "ALTER TABLE record_keys ADD CONSTRAINT record_keys_position UNIQUE (kiosk, epoch, seq)",
)
TRIGGERS = (
    """CREATE FUNCTION records_keys_add() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        INSERT INTO record_keys (id, kiosk, epoch, seq) VALUES (NEW.id, NEW.kiosk, NEW.epoch, NEW.seq);
        RETURN NULL; END $$""",
    """CREATE FUNCTION records_keys_remove() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        DELETE FROM record_keys WHERE id = OLD.id; RETURN NULL; END $$""",
    "CREATE TRIGGER records_keys_add AFTER INSERT ON records FOR EACH ROW EXECUTE FUNCTION records_keys_add()",
    "CREATE TRIGGER records_keys_remove AFTER DELETE ON records FOR EACH ROW EXECUTE FUNCTION records_keys_remove()",
)


def month_of(ms: int) -> tuple[int, int]:
    t = datetime.fromtimestamp(ms / 1000, UTC)
    return t.year, t.month


def following_months(year: int, month: int, count: int) -> list[tuple[int, int]]:
    """(year, month) of this month and the ``count - 1`` after it."""
    out = []
    for _ in range(count):
        out.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def bounds(year: int, month: int) -> tuple[int, int]:
    """[first ms, first ms of the next month) in UTC."""
    (ny, nm), = following_months(year, month, 2)[1:]
    return (int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000),
            int(datetime(ny, nm, 1, tzinfo=UTC).timestamp() * 1000))


def name(year: int, month: int) -> str:
    return f"records_{year:04d}_{month:02d}"


def convert(tx: Any) -> None:
    """Migration 0010 on PostgreSQL: the single ``records`` table becomes the partitioned one,
    in the migration's transaction (the gateway's inserts wait for it). Every row is copied
    with its rowid_ and txid (the relay's commit order is unchanged), the keys go to
    ``record_keys``, and the indexes are built once after the copy."""
    if tx.d.name != "postgresql":
        return
    tx.execute("LOCK TABLE records IN ACCESS EXCLUSIVE MODE")
    tx.execute("ALTER TABLE records RENAME TO records_unpartitioned")
    tx.execute("ALTER SEQUENCE records_rowid__seq OWNED BY NONE")
    tx.execute(PARENT)
    tx.execute("ALTER SEQUENCE records_rowid__seq OWNED BY records.rowid_")
    tx.execute("CREATE TABLE records_default PARTITION OF records DEFAULT")
    present = tx.execute("SELECT DISTINCT date_trunc('month', to_timestamp(committed_ms / 1000.0) AT TIME ZONE 'UTC') "
                         "FROM records_unpartitioned").fetchall()
    now_y, now_m = month_of(int(time.time() * 1000))
    for year, month in sorted({(t.year, t.month) for (t,) in present}
                              | set(following_months(now_y, now_m, MONTHS_AHEAD + 1))):
        lo, hi = bounds(year, month)
        tx.execute(f"CREATE TABLE {name(year, month)} PARTITION OF records FOR VALUES FROM ({lo}) TO ({hi})")
    tx.execute(f"INSERT INTO records ({COLUMNS}) SELECT {COLUMNS} FROM records_unpartitioned")  # noqa: S608
    tx.execute(KEYS)
    tx.execute("INSERT INTO record_keys (id, kiosk, epoch, seq) "
               "SELECT id, kiosk, epoch, seq FROM records_unpartitioned")
    tx.execute("DROP TABLE records_unpartitioned")
    for statement in INDEXES + TRIGGERS:  # the copied rows' keys are in; the triggers keep the rest
        tx.execute(statement)
    tx.execute("ANALYZE records")
    tx.execute("ANALYZE record_keys")


def ensure_months(tx: Any, now_ms: int | None = None, ahead: int = MONTHS_AHEAD) -> list[str]:
    """Make sure this month and the ``ahead`` next have their partitions; returns those made.
    Rows of a new month already in ``records_default`` (stored while it had no partition) move
    into it, in this transaction. Several processes may call it at once: an advisory lock
    makes them take turns, and each finds what the one before made."""
    tx.execute("SELECT pg_advisory_xact_lock(hashtext('learncard-partitions'))")
    if tx.one("SELECT to_regclass('records_default')")[0] is None:
        return []  # not partitioned (yet): migration 0010 makes the first ones
    # ATTACH locks records_default exclusively: behind a long report reading it, it would hold
    # every ingest queued behind it too. Give up instead (LockNotAvailable); the caller retries.
    tx.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    made = []
    for year, month in following_months(*month_of(int(time.time() * 1000) if now_ms is None else now_ms),
                                        ahead + 1):
        part = name(year, month)
        if tx.one("SELECT to_regclass(?)", (part,))[0] is not None:
            continue
        lo, hi = bounds(year, month)
        tx.execute(f"CREATE TABLE {part} (LIKE records INCLUDING DEFAULTS)")
        tx.execute(f"WITH moved AS (DELETE FROM records_default WHERE committed_ms >= ? AND committed_ms < ? "  # noqa: S608
                   f"RETURNING {COLUMNS}) INSERT INTO {part} ({COLUMNS}) SELECT {COLUMNS} FROM moved", (lo, hi))
        # the delete took their keys with it and the table has no triggers until attached: put them back
        tx.execute(f"INSERT INTO record_keys (id, kiosk, epoch, seq) SELECT id, kiosk, epoch, seq FROM {part}")  # noqa: S608
        tx.execute(f"ALTER TABLE records ATTACH PARTITION {part} FOR VALUES FROM ({lo}) TO ({hi})")
        made.append(part)
    return made

