"""The analyst database (`gateway export --sqlite`, built with sqlite-utils) over the scripted
term of test_statistics: typed tables per record type, the venue tree, views with the same
figures as the report, full-text search on course titles — and read through Datasette's
JSON API, as a statistician would."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from learncard.main import cli
from tests.integration.test_statistics import L, gateway_config  # noqa: F401 (a fixture)
from tests.support.ports import free_port, wait_listening


def export(config: Path, path: Path, *extra: str) -> str:
    result = CliRunner().invoke(cli, ["gateway", "--config", str(config), "export", "--sqlite", str(path),
                                      "--county-name", "示范县", *extra])
    assert 0 == result.exit_code, result.output
    return result.output


@pytest.fixture
def analyst(gateway_config: Path, tmp_path: Path) -> Path:  # noqa: F811 (the fixture)
    path = tmp_path / "analyst.db"
    export(gateway_config, path, "--since", "2026-08-01", "--until", "2027-02-01")
    return path


def test_typed_tables_tree_views_and_search(analyst: Path) -> None:
    import sqlite_utils

    assert 0o444 == analyst.stat().st_mode & 0o777
    db = sqlite_utils.Database(sqlite3.connect(f"file:{analyst}?mode=ro", uri=True))
    checkout = db["attendance_checkout"]
    types = {c.name: c.type for c in checkout.columns}
    assert ("INTEGER", "TEXT", "INTEGER", "TEXT") == (types["minutes_credited"], types["learner"], types["seq"],
                                                      types["time"])
    assert "id" == checkout.pks[0]
    assert {L[1], L[2]} <= {r["learner"] for r in checkout.rows}  # codes as text: zeros kept
    assert 10 == checkout.count + db["attendance_manual"].count
    assert 6 == db["venues"].count
    assert {"t-east": "东城镇", "t-west": "西山乡"} == {r["township"]: r["name"] for r in db["townships"].rows}
    figures = [(r["township"], r["sessions"], r["attendances"], r["learners"], r["hours"])
               for r in db.query("SELECT * FROM township_figures")]
    assert [("t-east", 2, 5, 4, 7.0), ("t-west", 3, 5, 4, 4.0)] == figures  # as in the workbook
    school = next(db.query("SELECT * FROM venue_figures WHERE venue = 'v-east-school'"))
    assert (1, 2, 2, 3.0, "东城镇") == (school["sessions"], school["attendances"], school["learners"],
                                       school["hours"], school["township_name"])
    assert [("2026-10", 7, 8.5), ("2026-11", 2, 1.0), ("2026-12", 1, 1.5)] == [
        (r["month"], r["attendances"], r["hours"]) for r in db.query("SELECT * FROM monthly_figures")]
    culture = next(db.query("SELECT * FROM hours_by_category WHERE category = 'culture'"))
    assert ("文化艺术", 4.5) == (culture["category_name"], culture["hours"])
    found = [r["course"] for r in db["session_opened"].search("太极拳")]
    assert ["太极拳", "太极拳"] == found
    with pytest.raises(sqlite3.OperationalError):
        db.execute("DELETE FROM venues")


def test_outside_the_dates_is_left_out_and_a_rerun_replaces_the_copy(gateway_config: Path,  # noqa: F811
                                                                      tmp_path: Path) -> None:
    path = tmp_path / "analyst.db"
    export(gateway_config, path)
    everything = sqlite3.connect(path).execute("SELECT count(*) FROM attendance_manual").fetchone()[0]
    assert 2 == everything  # L5 in October and L1 in March 2027
    export(gateway_config, path, "--until", "2027-02-01")
    assert 1 == sqlite3.connect(path).execute("SELECT count(*) FROM attendance_manual").fetchone()[0]


def test_datasette_serves_a_view_as_json(analyst: Path) -> None:
    port = free_port()
    datasette = Path(sys.executable).parent / "datasette"
    if not datasette.exists():
        pytest.fail("datasette is not installed: pip install datasette (a test dependency)")
    proc = subprocess.Popen([str(datasette), "serve", "--immutable", str(analyst), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        wait_listening(port, 60)
        url = f"http://127.0.0.1:{port}/analyst/township_figures.json?_shape=array"
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 (loopback)
            rows = json.loads(answer.read())
        assert [("t-east", 5, 7.0), ("t-west", 5, 4.0)] == [(r["township"], r["attendances"], r["hours"])
                                                             for r in rows]
        search = f"http://127.0.0.1:{port}/analyst/session_opened.json?_search=%E5%A4%AA%E6%9E%81%E6%8B%B3&_shape=array"
        with urllib.request.urlopen(search, timeout=30) as answer:  # noqa: S310 (loopback)
            assert 2 == len(json.loads(answer.read()))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def test_held_records_are_marked_and_left_out_of_the_views(gateway_config: Path, tmp_path: Path) -> None:  # noqa: F811
    """The review's table as the gateway's plausibility review keeps it (made here if this
    store predates it): one record held, one voided."""
    store = sqlite3.connect(tmp_path / "gateway.sqlite3")
    with store:
        store.execute("CREATE TABLE IF NOT EXISTS held (record_id TEXT PRIMARY KEY, kiosk TEXT NOT NULL, "
                      "reasons TEXT NOT NULL, state TEXT NOT NULL, held_ms BIGINT NOT NULL, "
                      "decided_ms BIGINT NOT NULL DEFAULT 0, note TEXT NOT NULL DEFAULT '', "
                      "relayed INTEGER NOT NULL DEFAULT 0)")
        for venue, state in (("v-east-library", "held"), ("v-west-culture", "void")):
            store.execute("INSERT INTO held (record_id, kiosk, reasons, state, held_ms) SELECT id, kiosk, 'test', ?, 0 "
                          "FROM records WHERE venue = ? AND type IN ('attendance.manual', 'attendance.checkout')",
                          (state, venue))
    store.close()
    path = tmp_path / "analyst.db"
    export(gateway_config, path, "--until", "2027-02-01")
    db = sqlite3.connect(path)
    assert [(L[5], "held", 1, 0)] == db.execute("SELECT learner, review, held, voided FROM attendance_manual"
                                                ).fetchall()
    assert [(L[2], 0, 1)] == db.execute("SELECT learner, held, voided FROM attendance_checkout WHERE "
                                        "venue = 'v-west-culture'").fetchall()
    assert (0, 0.0) == db.execute("SELECT attendances, hours FROM venue_figures WHERE venue = 'v-east-library'"
                                  ).fetchone()
    assert (1, 0.0) == db.execute("SELECT attendances, hours FROM venue_figures WHERE venue = 'v-west-culture'"
                                  ).fetchone()  # the check-in stands; the voided check-out's hours do not
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["gateway", "--config", str(gateway_config), "report", "--out", str(out),
                                      "--until", "2027-02-01", "--scope", "county"])
    assert 0 == result.exit_code, result.output
    total = json.loads((out / "statistics.json").read_text())["tables"]["summary"]["totals"]
    assert (9, 7.5) == (total["attendances"], total["hours"])  # 10 − the held manual; 11 − 2.0 − 1.5
