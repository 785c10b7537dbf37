"""The agent's state tables in the journal (sessions, open check-ins, last taps, learner days
and years, registrations, consents): every SQL query the decision code needs, in one adapter.

Part of the journal: :class:`kiosk.journal.Journal` and its :class:`~kiosk.journal.Tx` both
hand one out as ``.state`` over their own connection, so reads inside a transaction see its
writes. The decision code (``kiosk/taps.py``, ``kiosk/sessions.py``, ``kiosk/timetable.py``)
holds no SQL.
"""

# The f-strings below only splice the constant column lists; every value is a parameter.
# ruff: noqa: S608

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

# Applied after the journal's own migrations (see Journal._migrate).
STATE_MIGRATIONS: list[tuple[str, str]] = [
    (
        "0101-programme-sessions",
        """
        ALTER TABLE sessions ADD COLUMN occurrence TEXT;
        ALTER TABLE sessions ADD COLUMN close_ms INTEGER;
        ALTER TABLE sessions ADD COLUMN rule_name TEXT;
        ALTER TABLE sessions ADD COLUMN course_id TEXT;
        CREATE UNIQUE INDEX sessions_occurrence ON sessions (occurrence) WHERE occurrence IS NOT NULL;
        ALTER TABLE open_checkins ADD COLUMN expires_ms INTEGER;
        CREATE TABLE registrations (
            learner TEXT NOT NULL, course_id TEXT NOT NULL, scope TEXT NOT NULL,
            status TEXT NOT NULL, record_id TEXT NOT NULL, at_ms INTEGER NOT NULL,
            PRIMARY KEY (learner, course_id, scope));
        """,
    ),
    (
        "0110-consents",
        """
        CREATE TABLE consents (
            learner TEXT PRIMARY KEY, notice TEXT NOT NULL, record_id TEXT NOT NULL, at_ms INTEGER NOT NULL);
        """,
    ),
]


@dataclass(frozen=True)
class SessionRow:
    session_id: str
    course: str
    category: str
    staff_id: str | None
    planned_start: str
    planned_end: str
    credit_rule: dict[str, Any]
    opened_at: str
    closed_at: str | None
    attendances: int
    occurrence: str | None = None
    close_ms: int | None = None
    rule_name: str | None = None
    course_id: str | None = None


@dataclass(frozen=True)
class CheckinRow:
    learner: str
    record_id: str
    card: str
    session_id: str | None
    wall: str
    mono: int
    bootid: str
    expires_ms: int | None


_SESSION_COLUMNS = ("session_id, course, category, staff_id, planned_start, planned_end, credit_rule, opened_at, "
                    "closed_at, attendances, occurrence, close_ms, rule_name, course_id")
_CHECKIN_COLUMNS = "learner, record_id, card, session_id, wall, mono, bootid, expires_ms"


def _session(row: tuple[Any, ...] | None) -> SessionRow | None:
    if row is None:
        return None
    values = list(row)
    values[3] = values[3] or None  # '' = no staff (the column predates auto-opened sessions)
    values[6] = json.loads(values[6])
    return SessionRow(*values)


class VenueState:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # --- sessions -----------------------------------------------------------------------------

    def session(self, session_id: str) -> SessionRow | None:
        return _session(self.conn.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE session_id = ?",
                                          (session_id,)).fetchone())

    def current_session(self) -> SessionRow | None:
        """The latest opened session still open."""
        return _session(self.conn.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE closed_at IS NULL "
                                          "ORDER BY opened_at DESC, rowid DESC LIMIT 1").fetchone())

    def open_sessions(self) -> list[SessionRow]:
        rows = self.conn.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE closed_at IS NULL "
                                 "ORDER BY opened_at, rowid").fetchall()
        return [s for s in map(_session, rows) if s is not None]

    def all_sessions(self) -> list[SessionRow]:
        rows = self.conn.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions ORDER BY opened_at, rowid").fetchall()
        return [s for s in map(_session, rows) if s is not None]

    def opened_occurrences(self) -> set[str]:
        """Every planned time this kiosk has opened (never opened twice, even after closing)."""
        return {r[0] for r in self.conn.execute("SELECT occurrence FROM sessions WHERE occurrence IS NOT NULL")}

    def insert_session(self, s: SessionRow) -> None:
        self.conn.execute(
            f"INSERT INTO sessions ({_SESSION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (s.session_id, s.course, s.category, s.staff_id or "", s.planned_start, s.planned_end,
             json.dumps(s.credit_rule), s.opened_at, s.closed_at, s.attendances, s.occurrence, s.close_ms,
             s.rule_name, s.course_id))

    def mark_closed(self, session_id: str, closed_at: str) -> None:
        self.conn.execute("UPDATE sessions SET closed_at = ? WHERE session_id = ?", (closed_at, session_id))

    def count_attendance(self, session_id: str) -> None:
        self.conn.execute("UPDATE sessions SET attendances = attendances + 1 WHERE session_id = ?", (session_id,))

    # --- open check-ins and last taps -------------------------------------------------------------

    def open_checkin(self, learner: str) -> CheckinRow | None:
        row = self.conn.execute(f"SELECT {_CHECKIN_COLUMNS} FROM open_checkins WHERE learner = ?",
                                (learner,)).fetchone()
        return None if row is None else CheckinRow(*row)

    def open_checkins(self, session_id: str | None = None) -> list[CheckinRow]:
        if session_id is None:
            rows = self.conn.execute(f"SELECT {_CHECKIN_COLUMNS} FROM open_checkins ORDER BY wall").fetchall()
        else:
            rows = self.conn.execute(f"SELECT {_CHECKIN_COLUMNS} FROM open_checkins WHERE session_id = ? "
                                     "ORDER BY wall", (session_id,)).fetchall()
        return [CheckinRow(*r) for r in rows]

    def put_open_checkin(self, c: CheckinRow) -> None:
        self.conn.execute(f"INSERT OR REPLACE INTO open_checkins ({_CHECKIN_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
                          (c.learner, c.record_id, c.card, c.session_id, c.wall, c.mono, c.bootid, c.expires_ms))

    def drop_open_checkin(self, learner: str) -> None:
        self.conn.execute("DELETE FROM open_checkins WHERE learner = ?", (learner,))

    def drop_open_checkin_record(self, record_id: str) -> None:
        """Another kiosk of the venue checked this check-in out (kiosk/venue_share.py)."""
        self.conn.execute("DELETE FROM open_checkins WHERE record_id = ?", (record_id,))

    def count_present(self, session_id: str | None = None) -> int:
        if session_id is None:
            (n,) = self.conn.execute("SELECT count(*) FROM open_checkins").fetchone()
        else:
            (n,) = self.conn.execute("SELECT count(*) FROM open_checkins WHERE session_id = ?",
                                     (session_id,)).fetchone()
        return int(n)

    def last_tap(self, learner: str) -> tuple[str, str, int, str] | None:
        """(kind, wall, mono, bootid) of the learner's last answered tap."""
        row = self.conn.execute("SELECT kind, wall, mono, bootid FROM last_taps WHERE learner = ?",
                                (learner,)).fetchone()
        return None if row is None else (str(row[0]), str(row[1]), int(row[2]), str(row[3]))

    def remember_tap(self, learner: str, kind: str, wall: str, mono: int, bootid: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO last_taps VALUES (?,?,?,?,?)", (learner, kind, wall, mono, bootid))

    # --- learner days and years ---------------------------------------------------------------------

    def credit(self, learner: str, day: str, year: int, seconds: int, minutes: int, self_study: int) -> None:
        self.conn.execute(
            "INSERT INTO learner_days (learner, day, seconds, minutes, self_study_minutes) "
            "VALUES (?,?,?,?,?) ON CONFLICT (learner, day) DO UPDATE SET "
            "seconds = seconds + excluded.seconds, minutes = minutes + excluded.minutes, "
            "self_study_minutes = self_study_minutes + excluded.self_study_minutes",
            (learner, day, seconds, minutes, self_study))
        self.conn.execute(
            "INSERT INTO learner_years VALUES (?,?,?) ON CONFLICT (learner, year) "
            "DO UPDATE SET minutes = minutes + excluded.minutes", (learner, year, minutes))

    def day_totals(self, learner: str, day: str) -> tuple[int, int, int]:
        """(seconds, minutes, self-study minutes) the learner has on ``day``."""
        row = self.conn.execute(
            "SELECT coalesce(sum(seconds), 0), coalesce(sum(minutes), 0), coalesce(sum(self_study_minutes), 0) "
            "FROM learner_days WHERE learner = ? AND day = ?", (learner, day)).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def year_minutes(self, learner: str, year: int) -> int:
        (minutes,) = self.conn.execute(
            "SELECT coalesce(sum(minutes), 0) FROM learner_years WHERE learner = ? AND year = ?",
            (learner, year)).fetchone()
        return int(minutes)

    # --- registrations -----------------------------------------------------------------------------

    def registration(self, learner: str, course_id: str, scope: str) -> str | None:
        row = self.conn.execute("SELECT status FROM registrations WHERE learner = ? AND course_id = ? AND scope = ?",
                                (learner, course_id, scope)).fetchone()
        return None if row is None else str(row[0])

    def registered_count(self, course_id: str, scope: str) -> int:
        (n,) = self.conn.execute("SELECT count(*) FROM registrations WHERE course_id = ? AND scope = ? "
                                 "AND status = 'registered'", (course_id, scope)).fetchone()
        return int(n)

    def registered(self, course_id: str, scope: str) -> list[tuple[str, str]]:
        """(learner, status) of everyone registered or waiting, earliest first."""
        rows = self.conn.execute("SELECT learner, status FROM registrations WHERE course_id = ? AND scope = ? "
                                 "ORDER BY at_ms, learner", (course_id, scope)).fetchall()
        return [(str(r[0]), str(r[1])) for r in rows]

    def put_registration(self, learner: str, course_id: str, scope: str, status: str, record_id: str,
                         at_ms: int) -> None:
        self.conn.execute("INSERT OR REPLACE INTO registrations VALUES (?,?,?,?,?,?)",
                          (learner, course_id, scope, status, record_id, at_ms))

    def drop_registration(self, learner: str, course_id: str, scope: str) -> None:
        self.conn.execute("DELETE FROM registrations WHERE learner = ? AND course_id = ? AND scope = ?",
                          (learner, course_id, scope))

    def first_waiting(self, course_id: str, scope: str) -> str | None:
        row = self.conn.execute("SELECT learner FROM registrations WHERE course_id = ? AND scope = ? AND "
                                "status = 'waiting' ORDER BY at_ms, learner LIMIT 1", (course_id, scope)).fetchone()
        return None if row is None else str(row[0])

    # --- ratings and today's figures ---------------------------------------------------------------

    def checkout_token(self, checkout_id: str) -> str | None:
        row = self.conn.execute("SELECT token FROM records WHERE id = ? AND type = 'attendance.checkout'",
                                (checkout_id,)).fetchone()
        return None if row is None else str(row[0])

    def rated(self, checkout_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM ratings WHERE checkout_id = ?", (checkout_id,)).fetchone() is not None

    def put_rating(self, checkout_id: str, record_id: str, day: str, score: int) -> None:
        self.conn.execute("INSERT INTO ratings VALUES (?,?,?,?)", (checkout_id, record_id, day, score))

    def tokens_by_ids(self, record_ids: list[str]) -> list[str]:
        if not record_ids:
            return []
        marks = ",".join("?" * len(record_ids))
        return [r[0] for r in self.conn.execute(
            f"SELECT token FROM records WHERE id IN ({marks}) ORDER BY epoch, seq", tuple(record_ids)).fetchall()]  # noqa: S608

    def tokens_since(self, types: tuple[str, ...], since_ms: int) -> list[str]:
        """Records of these types made since ``since_ms``, in chain order."""
        marks = ",".join("?" * len(types))
        return [r[0] for r in self.conn.execute(
            f"SELECT token FROM records WHERE type IN ({marks}) AND created_ms >= ? ORDER BY epoch, seq",  # noqa: S608
            (*types, since_ms)).fetchall()]

    def undo_attendance(self, record_id: str, learner: str, day: str, year: int, minutes: int,
                        self_study: bool) -> None:
        """A voided attendance (kiosk/voids.py): its check-in is no longer open, its minutes no
        longer counted in the learner's day and year shown on screen."""
        self.conn.execute("DELETE FROM open_checkins WHERE record_id = ?", (record_id,))
        if minutes:
            self.conn.execute("UPDATE learner_days SET minutes = max(0, minutes - ?), self_study_minutes = "
                              "max(0, self_study_minutes - ?) WHERE learner = ? AND day = ?",
                              (minutes, minutes if self_study else 0, learner, day))
            self.conn.execute("UPDATE learner_years SET minutes = max(0, minutes - ?) WHERE learner = ? AND year = ?",
                              (minutes, learner, year))

    def consented(self, learner: str) -> str | None:
        """The notice version the learner consented to at this kiosk (None: none, or withdrawn)."""
        row = self.conn.execute("SELECT notice FROM consents WHERE learner = ?", (learner,)).fetchone()
        return row[0] if row else None

    def put_consent(self, learner: str, notice: str, record_id: str, at_ms: int) -> None:
        self.conn.execute("INSERT INTO consents VALUES (?,?,?,?) ON CONFLICT (learner) DO UPDATE SET "
                          "notice = excluded.notice, record_id = excluded.record_id, at_ms = excluded.at_ms",
                          (learner, notice, record_id, at_ms))

    def drop_consent(self, learner: str) -> None:
        self.conn.execute("DELETE FROM consents WHERE learner = ?", (learner,))

    def record_counts_since(self, since_ms: int) -> dict[str, int]:
        rows = self.conn.execute("SELECT type, count(*) FROM records WHERE created_ms >= ? GROUP BY type",
                                 (since_ms,)).fetchall()
        return {str(t): int(n) for t, n in rows}

    def day_figures(self, day: str) -> tuple[int, int]:
        """(minutes credited on ``day``, distinct learners that day or present now)."""
        (minutes,) = self.conn.execute("SELECT coalesce(sum(minutes), 0) FROM learner_days WHERE day = ?",
                                       (day,)).fetchone()
        (learners,) = self.conn.execute("SELECT count(*) FROM (SELECT learner FROM learner_days WHERE day = ? "
                                        "UNION SELECT learner FROM open_checkins)", (day,)).fetchone()
        return int(minutes), int(learners)

    def rating_figures(self, day: str) -> tuple[int, float | None]:
        count, average = self.conn.execute("SELECT count(*), avg(score) FROM ratings WHERE day = ?",
                                           (day,)).fetchone()
        return int(count), None if average is None else float(average)
