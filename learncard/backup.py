"""Backing up and restoring the gateway's store.

SQLite: an online, consistent copy through SQLite's backup API (the gateway keeps writing
meanwhile; the copy is one snapshot), checked with ``PRAGMA quick_check`` and renamed into
place only then. PostgreSQL: ``pg_dump --format=custom`` (consistent by its own snapshot),
restored with ``pg_restore --clean``.

A restore with the gateway stopped puts the copy in place and keeps the store it replaces
beside it (``*.before-restore-<time>``: nothing is deleted). Records the gateway receipted
after the backup are not lost: when the kiosk's next record arrives the gateway finds the gap
in that kiosk's chain and asks for it again (``cmd/resend``); the kiosk still holds settled
records for ``journal.retention_days`` and settling them a second time changes nothing.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path


class BackupError(Exception):
    """A backup or restore that did not happen; the message says why."""


def sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    return Path("/" + url[len("sqlite:///"):].lstrip("/"))  # sqlite:////abs and sqlite:///abs alike


def _read_only(path: Path, timeout: float = 5.0) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=timeout)


def _check(path: Path) -> None:
    conn = _read_only(path)
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
        conn.execute("SELECT count(*) FROM migrations").fetchone()
    except sqlite3.Error as err:
        raise BackupError(f"{path} is not a gateway store: {err}") from err
    finally:
        conn.close()
    if rows != [("ok",)]:
        raise BackupError(f"{path} fails SQLite's check: {rows[:3]}")


def backup(url: str, dest: Path) -> Path:
    tmp = dest.with_name(f".{dest.name}.part")
    path = sqlite_path(url)
    if path is None:
        done = subprocess.run(["pg_dump", "--format=custom", "--file", str(tmp), url],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    else:
        if not path.is_file():
            raise BackupError(f"no store at {path}")
        src = _read_only(path, 30)
        dst = sqlite3.connect(tmp)
        try:
            # in steps, so the gateway's writes go on between them; the result is one snapshot
            src.backup(dst, pages=4096, sleep=0.01)
        except sqlite3.Error as err:
            raise BackupError(f"the backup of {path} failed: {err}") from err
        finally:
            dst.close()
            src.close()
        _check(tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, dest)
    return dest


def restore(url: str, source: Path) -> Path | None:
    """Put ``source`` in place of the store (the gateway must be stopped); returns where the
    replaced store was kept (SQLite), or None."""
    path = sqlite_path(url)
    if path is None:
        done = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--dbname", url, str(source)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
        return None
    _check(source)
    kept = None
    if path.exists():
        kept = path.with_name(f"{path.name}.before-restore-{time.strftime('%Y%m%dT%H%M%S')}")
        path.rename(kept)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                side.rename(kept.with_name(kept.name + suffix))
    tmp = path.with_name(f".{path.name}.part")
    shutil.copyfile(source, tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return kept
