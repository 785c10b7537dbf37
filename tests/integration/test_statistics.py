"""The county's statistics over a scripted autumn term: 6 venues in 2 townships, records
through the real ingest into a store, `learncard gateway report` as a clerk runs it, and
the workbook opened back with openpyxl and checked cell by cell against figures worked
out by hand (below, next to the script)."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from gateway.county_files import CountyFiles
from gateway.ingest import Ingest
from gateway.report_chart import ticks
from gateway.statistics import StarCriteria, StatisticsError, period, read_population
from gateway.store import Store
from learncard.config import to_toml
from learncard.main import cli
from records import county as county_docs
from records import keys
from records.ids import learner_code
from tests.support.county import TestCounty
from tests.support.gateway import NOW, KioskChain, payload

CN = ZoneInfo("Asia/Shanghai")
RULE = {"min_share_percent": 50, "rounding_minutes": 15, "cap_at_session": True, "daily_self_study_cap_minutes": 240}
L = {n: learner_code(n) for n in range(1, 10)}  # 0000000000018 and so on: leading zeros
VENUES = {  # venue: (township, level, name)
    "v-east-school": ("t-east", "township-school", "东城镇社区学校"),
    "v-east-village": ("t-east", "village-station", "东村教学点"),
    "v-east-library": ("t-east", "library", "东城图书馆"),
    "v-west-school": ("t-west", "township-school", "西山乡社区学校"),
    "v-west-village": ("t-west", "village-station", "西村教学点"),
    "v-west-culture": ("t-west", "cultural-centre", "西山文化站"),
}


def registry(county: TestCounty) -> county_docs.Document:
    body = {"home_page": county.home_page, "townships": {"t-east": {"name": "东城镇"}, "t-west": {"name": "西山乡"}},
            "venues": {v: {"name": name, "level": level, "timezone": "Asia/Shanghai", "township": township}
                       for v, (township, level, name) in VENUES.items()},
            "kiosks": {f"k-{v[2:]}": {"venue": v, "level": level, "status": "active",
                                      "keys": {"1": keys.public_key_text(county.kiosk_key(f"k-{v[2:]}"))}}
                       for v, (_, level, _) in VENUES.items()}}
    return county_docs.sign_document("registry", county.county_id, 1, body, county.issuer, NOW)


class Venue:
    def __init__(self, county: TestCounty, venue: str) -> None:
        self.k = KioskChain(county, kiosk=f"k-{venue[2:]}", venue=venue)

    def at(self, when: datetime, record_type: str, data: dict):  # noqa: ANN201 - a Record
        self.k.time = when - timedelta(seconds=1)
        return self.k.next(record_type, data)

    def session(self, start: datetime, minutes: int, course: str, category: str, *, enrolled: tuple[int, ...] = (),
                attend: tuple[tuple[int, list[str], int], ...] = (), ratings: tuple[tuple[int, int], ...] = ()) -> None:
        sid = str(uuid.uuid4())
        end = start + timedelta(minutes=minutes)
        self.at(start, "session.opened", {"session_id": sid, "course": course, "category": category,
                                          "staff_id": "s-0001", "planned_start": start.isoformat(),
                                          "planned_end": end.isoformat(), "credit_rule": RULE})
        for i, n in enumerate(enrolled):
            self.at(start + timedelta(seconds=10 + i), "enrollment", {"learner": L[n], "temporary": False,
                                                                      "session_id": sid, "staff_id": "s-0001"})
        checkins = [self.at(start + timedelta(minutes=1, seconds=i), "attendance.checkin",
                            {"learner": L[n], "card": "ab" * 8, "session_id": sid, "how": "nfc", "groups": groups})
                    for i, (n, groups, _) in enumerate(attend)]
        for i, (n, _, credited) in enumerate(attend):
            self.at(end - timedelta(seconds=30 - i), "attendance.checkout",
                    {"learner": L[n], "card": "ab" * 8, "session_id": sid, "checkin_id": checkins[i].id,
                     "checkin_time": (start + timedelta(minutes=1)).isoformat(), "seconds_present": credited * 60,
                     "minutes_credited": credited, "how": "nfc"})
        for i, (n, score) in enumerate(ratings):
            self.at(end - timedelta(seconds=10 - i), "rating", {"learner": L[n], "session_id": sid, "score": score})
        self.at(end, "session.closed", {"session_id": sid, "staff_id": "s-0001", "attendances": len(attend),
                                        "auto_checkouts": 0})


def term_of_records(county: TestCounty) -> list:
    """The script. Hand-worked figures for the autumn term 2026 (Aug 1 – Jan 31):

    东城镇 t-east: S1 太极拳 culture (L1, L2 elder; 90 min each; L1, L3 enrolled; rated 5, 4),
      S2 智能手机 digital-skills (L1 elder, L4 youth; 60 min each; rated 3), L5 self-study
      recorded by staff 120 min → sessions 2, attendances 5, learners 4, hours 7.0, elderly 2
      (L1, L2), registrations 2 of which attended 1, ratings 3 averaging 4.0, 2 of 3 at 4–5,
      both sessions rated, service 1.5 + 1.0 = 2.5 h.
    西山乡 t-west: S3 育儿讲座 family-education (L6 migrant, L7 no group; 45 min; L6, L7, L8
      enrolled), S4 健康讲座 health in November (L6, L8 elder; 30 min; rated 2), S5 太极拳
      culture in December (L2 elder; 90 min) → sessions 3, attendances 5, learners 4 (L6, L7,
      L8, L2), hours 4.0, elderly 2 (L8, L2), registrations 3 attended 2, 1 rating (2),
      1 of 3 sessions rated, service 1.0 + 0.5 + 1.5 = 3.0 h.
    County: sessions 5, attendances 10, learners 7 (L2 learns in both townships: not 8),
      hours 11.0, elderly 3 (3/7 = 42.86 %), registrations 5 attended 3 (60 %), 4 ratings
      averaging 3.5, 50 % at 4–5, 3 of 5 sessions rated (60 %), service 5.5 h.
    Population: t-east 400 residents / 100 elderly, t-west 200 / 50 → participation 1 % and
      2 % (county 7/600 = 1.17 %), elderly participation 2 % and 4 % (3/150 = 2 %), training
      rate 5/400 = 1.25 %, 5/200 = 2.5 % (10/600 = 1.67 %).
    Outside the term (March 2027): L1 self-study at the east school — counted nowhere.
    """
    v = {name: Venue(county, name) for name in VENUES}
    oct10, oct11, oct12 = (datetime(2026, 10, d, 9, 0, tzinfo=CN) for d in (10, 11, 12))
    v["v-east-school"].session(oct10, 90, "太极拳", "culture", enrolled=(1, 3),
                               attend=((1, ["elder"], 90), (2, ["elder"], 90)), ratings=((1, 5), (2, 4)))
    v["v-east-village"].session(oct11, 60, "智能手机", "digital-skills",
                                attend=((1, ["elder"], 60), (4, ["youth"], 60)), ratings=((4, 3),))
    v["v-east-library"].at(oct12, "attendance.manual", {"learner": L[5], "temporary": False, "session_id": None,
                                                        "staff_id": "s-0002", "reason": "忘带卡",
                                                        "minutes_credited": 120})
    v["v-west-school"].session(oct12 + timedelta(hours=10), 60, "育儿讲座", "family-education", enrolled=(6, 7, 8),
                               attend=((6, ["migrant"], 45), (7, [], 45)))
    v["v-west-village"].session(datetime(2026, 11, 5, 9, 0, tzinfo=CN), 30, "健康讲座", "health",
                                attend=((6, ["migrant"], 30), (8, ["elder"], 30)), ratings=((8, 2),))
    v["v-west-culture"].session(datetime(2026, 12, 3, 9, 0, tzinfo=CN), 90, "太极拳", "culture",
                                attend=((2, ["elder"], 90),))
    v["v-east-school"].at(datetime(2027, 3, 1, 9, 0, tzinfo=CN), "attendance.manual",
                          {"learner": L[1], "temporary": False, "session_id": None, "staff_id": "s-0002",
                           "reason": "补录", "minutes_credited": 60})
    return [rec for venue in v.values() for rec in venue.k.made]


@pytest.fixture
def gateway_config(tmp_path: Path, county: TestCounty) -> Path:
    (tmp_path / "registry.jws").write_text(registry(county).token)
    files = CountyFiles(county.county_id, county.issuer.public_key(), {"registry": tmp_path / "registry.jws"})
    files.load(first=True)
    store = Store.open(f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
    ingest = Ingest(store, files, lambda: datetime(2027, 3, 2, tzinfo=CN))
    recs = term_of_records(county)
    for kiosk in sorted({r.kiosk for r in recs}):
        mine = [r for r in recs if r.kiosk == kiosk]
        assert len(mine) == ingest.handle(kiosk, payload(mine)).stored
    store.close()
    config = tmp_path / "gw.toml"
    config.write_text(to_toml({"gateway": {"county": county.county_id, "issuer_public_key": county.issuer_public,
                                           "registry": str(tmp_path / "registry.jws")},
                               "store": {"url": f"sqlite:///{tmp_path / 'gateway.sqlite3'}"}}))
    (tmp_path / "population.csv").write_text("township,name,residents,elderly\nt-east,东城镇,400,100\n"
                                             "t-west,西山乡,200,50\n", encoding="utf-8-sig")
    return config


def report(config: Path, out: Path, *extra: str) -> None:
    result = CliRunner().invoke(cli, ["gateway", "--config", str(config), "report", "--out", str(out), "--period",
                                      "term", "--at", "2026-autumn", "--county-name", "示范县",
                                      "--population", str(config.parent / "population.csv"), "--star-min-hours", "2",
                                      "--star-min-attendances", "2", "--star-min-months", "1", *extra])
    assert 0 == result.exit_code, result.output


def rows_of(sheet) -> list[list]:  # noqa: ANN001 - an openpyxl worksheet
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


class TestTermWorkbook:
    def test_summary_by_township_cell_by_cell(self, gateway_config: Path, tmp_path: Path) -> None:
        out = tmp_path / "report"
        report(gateway_config, out, "--scope", "township")
        book = load_workbook(out / "report.xlsx")
        assert ["说明", "概况", "场所", "内容类别", "活动形式", "服务对象", "比率", "学习之星候选", "教学服务", "月度",
                "个人信息同意"] == book.sheetnames
        sheet = book["概况"]
        assert "A2" == sheet.freeze_panes
        assert ["单位代码", "单位名称", "开班场次", "学习人次", "学习人数", "学时", "老年学员数", "老年学员占比", "报名人次",
                "报名后到课人次", "到课率", "评价次数", "平均满意度(1-5)", "满意率(4-5分)", "已评价场次占比",
                "教学服务时长"] == rows_of(sheet)[0]
        east, west, total = rows_of(sheet)[1:4]
        assert ["t-east", "东城镇", 2, 5, 4, 7.0, 2, 0.5, 2, 1, 0.5, 3, 4.0, 0.6667, 1.0, 2.5] == east
        assert ["t-west", "西山乡", 3, 5, 4, 4.0, 2, 0.5, 3, 2, 0.6667, 1, 2.0, 0.0, 0.3333, 3.0] == west
        assert ["合计", "合计 / total", 5, 10, 7, 11.0, 3, 0.4286, 5, 3, 0.6, 4, 3.5, 0.5, 0.6, 5.5] == total
        assert sheet["H4"].number_format == "0.00%" and sheet["A4"].font.bold

        rates = rows_of(book["比率"])
        assert ["t-east", "东城镇", 400, 100, 4, 0.01, 2, 0.02, 5, 0.0125] == rates[1]
        assert ["t-west", "西山乡", 200, 50, 4, 0.02, 2, 0.04, 5, 0.025] == rates[2]
        assert ["合计", "合计 / total", 600, 150, 7, 0.0117, 3, 0.02, 10, 0.0167] == rates[3]

        categories = {(r[0], r[2]): r[3:] for r in rows_of(book["内容类别"])[1:]}
        assert [1, 2, 2, 3.0] == categories[("t-east", "文化艺术")]
        assert [0, 1, 1, 2.0] == categories[("t-east", "自主学习")]
        assert [1, 1, 1, 1.5] == categories[("t-west", "文化艺术")]
        assert [[5, 10, 7, 11.0]] == [r[3:] for r in rows_of(book["内容类别"])[1:] if r[0] == "合计"]
        audience = rows_of(book["服务对象"])
        assert ["单位代码", "单位名称", "服务对象", "学习人次", "学习人数", "学时"] == audience[0]
        elder = {r[0]: r[3:] for r in audience[1:] if r[2] == "老年人"}
        assert {"t-east": [3, 2, 4.0], "t-west": [2, 2, 2.0]} == elder  # L1 twice + L2 / L8 + L2
        assert not [r for r in audience[1:] if r[0] == "合计"]  # one learner, several groups: no sum

        months = rows_of(book["月度"])
        assert [["2026-10", 7, 8.5], ["2026-11", 2, 1.0], ["2026-12", 1, 1.5], ["合计", 10, 11.0]] == months[1:5]
        assert [[5, 5.5]] == [r[2:] for r in rows_of(book["教学服务"])[1:] if r[0] == "合计"]

    def test_codes_stay_text_and_stars_are_by_the_criteria(self, gateway_config: Path, tmp_path: Path) -> None:
        out = tmp_path / "report"
        report(gateway_config, out)
        book = load_workbook(out / "report.xlsx")
        stars = book["学习之星候选"]
        assert [[1, L[2], 3.0, 2, 2], [2, L[1], 2.5, 2, 1]] == [r[:5] for r in rows_of(stars)[1:3]]
        assert stars["B2"].data_type == "s" and stars["B2"].number_format == "@"
        assert L[2].startswith("00000000000")
        tree = rows_of(book["场所"])[1:]
        assert ["示范县", "t-east", "东城镇", "v-east-library", "东城图书馆", "library"] == tree[0]
        assert 6 == len(tree)
        venues = {r[0]: r for r in rows_of(book["概况"])[1:]}
        assert ["v-east-school", "东城镇社区学校", 1, 2, 2, 3.0] == venues["v-east-school"][:6]
        with (out / "star-candidates.csv").open(encoding="utf-8-sig") as handle:
            row = list(csv.reader(handle))[1]
        assert f'="{L[2]}"' == row[1]  # Excel and WPS keep the zeros
        stats = json.loads((out / "statistics.json").read_text())
        assert L[2] == stats["tables"]["star-candidates"]["rows"][0]["learner"]
        assert "2026-autumn" == stats["period"]
        for name in ("attendances-by-month.png", "hours-by-month.png", "hours-by-category.png"):
            assert (out / name).read_bytes().startswith(b"\x89PNG")
        page = (out / "report.html").read_text()
        assert "hours-by-category.png" in page and "东城镇社区学校" in page and "42.86%" in page

    def test_old_stars_never_rank_a_zero_hour_learner(self, gateway_config: Path, tmp_path: Path) -> None:
        out = tmp_path / "report"
        report(gateway_config, out, "--star-min-months", "2")
        book = load_workbook(out / "report.xlsx")
        assert [L[2]] == [r[1] for r in rows_of(book["学习之星候选"])[1:] if r[1] and r[1].isdigit()]
        with (out / "stars.csv").open(encoding="utf-8-sig") as handle:
            listed = [r["learner"] for r in csv.DictReader(handle)]
        assert all(code.startswith('="') for code in listed)


class TestRules:
    def test_zero_hours_is_never_a_criterion(self) -> None:
        with pytest.raises(StatisticsError):
            StarCriteria(min_hours=0)

    def test_periods(self) -> None:
        assert (datetime(2026, 8, 1, tzinfo=CN), datetime(2027, 2, 1, tzinfo=CN)) == period("term", "2026-autumn")[1:]
        assert (datetime(2026, 12, 1, tzinfo=CN), datetime(2027, 1, 1, tzinfo=CN)) == period("month", "2026-12")[1:]
        assert (datetime(2026, 1, 1, tzinfo=CN), datetime(2027, 1, 1, tzinfo=CN)) == period("year", "2026")[1:]
        with pytest.raises(StatisticsError):
            period("term", "2026-winter")

    def test_population_file_errors_name_the_line(self) -> None:
        with pytest.raises(StatisticsError, match="line 3"):
            read_population("township,residents,elderly\nt-a,10,2\nt-b,many,1\n")

    @pytest.mark.parametrize(("top", "expected"), [(7, [0, 2, 4, 6, 8]), (5, [0, 1, 2, 3, 4, 5]), (0, [0, 1]),
                                                   (11.0, [0, 2, 4, 6, 8, 10, 12]), (130, [0, 50, 100, 150])])
    def test_whole_number_ticks(self, top: float, expected: list[int]) -> None:
        assert expected == ticks(top)


def test_a_learner_with_no_credited_time_is_never_a_star(county: TestCounty) -> None:
    from gateway import report as old_report
    from gateway import statistics

    venue = Venue(county, "v-east-school")
    venue.session(datetime(2026, 10, 10, 9, 0, tzinfo=CN), 60, "太极拳", "culture", attend=((9, ["elder"], 0),))
    assert [] == old_report.build(venue.k.made, lambda v: CN).stars
    tree = statistics.Tree.from_registry(registry(county).body, county.county_id)
    stats = statistics.build(venue.k.made, tree, "t", *period("term", "2026-autumn")[1:],
                             stars=StarCriteria(min_hours=0.01, min_attendances=1, min_months=1))
    assert [] == stats.table("star-candidates").rows
    assert 1 == stats.table("summary").totals["attendances"]


def test_programme_fields_of_data_version_2_are_used_when_present(county: TestCounty) -> None:
    """Bodies of the programme's data version 2 (form, course id, registration per course
    with a status, sessions the timetable opened with no staff id): counted as they say."""
    from gateway import statistics

    venue = Venue(county, "v-east-school")
    start = datetime(2026, 10, 10, 9, 0, tzinfo=CN)
    for n, status in ((1, "registered"), (2, "registered"), (2, "cancelled"), (3, "waiting")):
        venue.at(start - timedelta(days=1, seconds=-n), "enrollment",
                 {"learner": L[n], "temporary": False, "session_id": None, "staff_id": None, "v": 2,
                  "course_id": "c-taiji", "status": status})
    sid = str(uuid.uuid4())
    venue.at(start, "session.opened", {"session_id": sid, "course": "太极拳", "category": "culture", "staff_id": None,
                                       "planned_start": start.isoformat(),
                                       "planned_end": (start + timedelta(hours=1)).isoformat(), "credit_rule": RULE,
                                       "v": 2, "course_id": "c-taiji", "form": "lecture"})
    venue.at(start + timedelta(minutes=1), "attendance.checkin", {"learner": L[1], "card": "ab" * 8,
                                                                  "session_id": sid, "how": "nfc", "groups": []})
    tree = statistics.Tree.from_registry(registry(county).body, county.county_id)
    stats = statistics.build(venue.k.made, tree, "t", *period("term", "2026-autumn")[1:])
    total = stats.table("summary").totals
    assert (1, 1, 1.0) == (total["registered"], total["registered_attended"], total["attendance_rate"])
    assert ["lecture"] == [r["form"] for r in stats.table("forms").rows]
    assert ["未指定"] == [r["staff"] for r in stats.table("service").rows]
