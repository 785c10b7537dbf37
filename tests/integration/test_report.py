"""Reports on a constructed month of records with answers worked out by hand."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from gateway import report
from gateway.county_files import CountyFiles
from gateway.ingest import Ingest
from gateway.report_chart import monthly, render
from gateway.store import Store
from learncard.config import to_toml
from learncard.main import cli
from records.ids import learner_code
from tests.support.county import TestCounty
from tests.support.gateway import KioskChain, payload

RULE = {"min_share_percent": 50, "rounding_minutes": 15, "cap_at_session": True, "daily_self_study_cap_minutes": 240}
A, B, C = learner_code(100_000_000_001), learner_code(100_000_000_002), learner_code(100_000_000_003)


def month_of_records(county: TestCounty) -> list:
    """Venue v-test, Asia/Shanghai. Nov 30 23:30 China time is still November; 16:30 UTC
    on Nov 30 is Dec 1 00:30 in China: the month follows the venue's zone."""
    k = KioskChain(county, time=datetime(2026, 11, 30, 15, 0, tzinfo=UTC))  # 23:00 China time
    taiji = str(uuid.uuid4())
    recs = [k.next("session.opened", {"session_id": taiji, "course": "太极拳", "category": "culture",
                                       "staff_id": "s-0001", "planned_start": "2026-11-30T23:00:00.000+08:00",
                                       "planned_end": "2026-12-01T00:30:00.000+08:00", "credit_rule": RULE})]
    for learner, groups in ((A, ["elder"]), (B, ["elder", "disabled"])):
        recs.append(k.next("attendance.checkin", {"learner": learner, "card": "ab" * 8, "session_id": taiji,
                                                  "how": "nfc", "groups": groups}, step_s=60))
    checkin_of = {A: recs[1].id, B: recs[2].id}
    recs.append(k.next("attendance.checkout", {"learner": A, "card": "ab" * 8, "session_id": taiji,
                                               "checkin_id": checkin_of[A], "checkin_time": "2026-11-30T23:01:00.000+08:00",
                                               "seconds_present": 1500, "minutes_credited": 15, "how": "nfc"}, step_s=1500))
    recs.append(k.next("rating", {"learner": A, "session_id": taiji, "score": 4}))
    k.time = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # Dec 1 00:30 in China
    recs.append(k.next("attendance.checkout", {"learner": B, "card": None, "session_id": taiji,
                                               "checkin_id": checkin_of[B], "checkin_time": "2026-11-30T23:02:00.000+08:00",
                                               "seconds_present": 5280, "minutes_credited": 75, "how": "auto"}))
    recs.append(k.next("session.closed", {"session_id": taiji, "staff_id": "s-0001", "attendances": 2,
                                          "auto_checkouts": 1}))
    recs.append(k.next("rating", {"learner": B, "session_id": taiji, "score": 5}))
    recs.append(k.next("attendance.manual", {"learner": C, "temporary": False, "session_id": None,
                                             "staff_id": "s-0002", "reason": "忘带卡", "minutes_credited": 120}))
    return recs


def test_report_by_venue_course_and_month(county: TestCounty) -> None:
    recs = month_of_records(county)
    r = report.build(recs, lambda v: ZoneInfo("Asia/Shanghai"))
    cells = {(c["course"], c["month"]): c for c in r.cells}
    nov, dec = cells[("太极拳", "2026-11")], cells[("太极拳", "2026-12")]
    assert (1, 2, 2, 0.25) == (nov["sessions_held"], nov["attendances"], nov["distinct_learners"], nov["hours_credited"])
    assert (1.0, 0.5, 4.0) == (nov["share_elder"], nov["share_disabled"], nov["average_satisfaction"])
    assert (0, 0, 1, 1.25, 5.0) == (dec["sessions_held"], dec["attendances"], dec["distinct_learners"],
                                    dec["hours_credited"], dec["average_satisfaction"])
    self_study = cells[(report.SELF_STUDY, "2026-12")]
    assert (1, 2.0) == (self_study["attendances"], self_study["hours_credited"])
    assert [C, B, A] == [s["learner"] for s in r.stars]
    assert [2.0, 1.25, 0.25] == [s["hours_credited"] for s in r.stars]
    # s-0001 opened at 23:00 China time and closed at 00:30 (+ the steps of the records between)
    (staff,) = [s for s in r.staff if s["staff_id"] == "s-0001"]
    assert 1 == staff["sessions"] and 1.5 <= staff["teaching_hours"] <= 1.6


def test_another_time_zone_moves_the_month(county: TestCounty) -> None:
    r = report.build(month_of_records(county), lambda v: ZoneInfo("UTC"))
    assert {"2026-11"} == {c["month"] for c in r.cells}


def test_report_command_writes_csv_json_and_chart(tmp_path: Path, county: TestCounty) -> None:
    (tmp_path / "registry.jws").write_text(county.registry({"k-test-1": "v-test"}).token)
    files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": tmp_path / "registry.jws"})
    files.load(first=True)
    store = Store.open(f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
    Ingest(store, files, lambda: datetime(2026, 12, 1, tzinfo=UTC)).handle("k-test-1", payload(month_of_records(county)))
    store.close()
    config = tmp_path / "gw.toml"
    config.write_text(to_toml({"gateway": {"county": county.county_id, "issuer_public_key": county.issuer_public,
                                           "registry": str(tmp_path / "registry.jws")},
                               "store": {"url": f"sqlite:///{tmp_path / 'gateway.sqlite3'}"}}))
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["gateway", "--config", str(config), "report", "--out", str(out), "--json"])
    assert 0 == result.exit_code, result.output
    data = json.loads(result.output)
    assert C == data["learning_stars"][0]["learner"]
    assert "太极拳" in (out / "venues.csv").read_text(encoding="utf-8-sig")
    png = (out / "monthly.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert [("2026-11", 2, 0.2), ("2026-12", 1, 3.2)] == monthly(data["venues"])


def test_chart_of_nothing_is_still_a_picture() -> None:
    assert render([]).startswith(b"\x89PNG")


def test_since_and_until(county: TestCounty) -> None:
    recs = month_of_records(county)
    r = report.build(recs, lambda v: ZoneInfo("Asia/Shanghai"), since=datetime(2026, 11, 30, 16, 0, tzinfo=UTC),
                     until=datetime(2026, 11, 30, 16, 0, tzinfo=UTC) + timedelta(days=1))
    assert {"2026-12"} == {c["month"] for c in r.cells}
