"""The county's statistics as the policy names them (统计制度), from verified records.

Pure: records, the venue tree (from the signed registry), the period and the county's
population figures in; tables out. ``gateway/report_files.py`` writes them as a workbook,
CSV, JSON and an HTML page; ``learncard gateway report`` wires it.

What the records hold today, and so what is counted:
- a *session* is a ``session.opened`` record (its course and content category);
- an *attendance* is a check-in, or a staff-recorded (manual) attendance;
- *study hours* are the minutes credited by check-outs and manual attendances;
- the *audience* is the learner's card groups (elder, youth, migrant, disabled) from their
  check-ins; a learner only ever recorded by staff has no groups (其他/未标注);
- the *activity form* is the session's ``form`` where the record has one (data version 2,
  the programme's forms), else a class session; self-study has its own;
- *registered* is an ``enrollment`` record for a session (or, in data version 2, for a
  course, with its latest status ``registered``; waiting and cancelled do not count);
  *attended* a registered learner who then attended that session (or a session of that
  course);
- a session's ``form`` (data version 2) is its activity form; without it, a class session.
Learners are counted by learner code (pseudonymous; never a name).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from records.record import Record, parse_time

CHINA = ZoneInfo("Asia/Shanghai")
UNPLACED = ("unplaced", "未归属乡镇")
SELF_STUDY = "self-study"
CATEGORY_NAMES = {
    "elder-education": "老年教育", "vocational-skills": "职业技能", "family-education": "家庭教育",
    "culture": "文化艺术", "health": "健康养生", "digital-skills": "数字技能", "other": "其他",
    SELF_STUDY: "自主学习",
}
FORM_NAMES = {"class": "集中授课", SELF_STUDY: "自主学习"}
AUDIENCE_NAMES = {"elder": "老年人", "youth": "青少年", "migrant": "外来务工人员", "disabled": "残疾人",
                  "none": "其他/未标注"}
SCOPES = ("venue", "township", "county")


class StatisticsError(ValueError):
    """A period, scope, population file or star criterion that cannot be used."""


# --- the venue tree --------------------------------------------------------------------------


@dataclass(frozen=True)
class Venue:
    id: str
    name: str
    level: str
    township: str
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class Tree:
    """County → township → venue, from the registry (``venues[v].township`` and
    ``townships[t].name``). A venue without a township is listed under 未归属乡镇."""

    county: str
    county_name: str
    venues: dict[str, Venue]
    townships: dict[str, str]

    @classmethod
    def from_registry(cls, body: dict[str, Any], county: str, county_name: str = "") -> Tree:
        townships = {t: str(e.get("name") or t) for t, e in body.get("townships", {}).items()}
        venues = {}
        for v, e in body.get("venues", {}).items():
            township = str(e.get("township") or UNPLACED[0])
            venues[v] = Venue(v, str(e.get("name") or v), str(e.get("level") or ""), township,
                              str(e.get("timezone") or "Asia/Shanghai"))
        return cls(county, county_name or county, venues, townships)

    def venue(self, venue_id: str) -> Venue:
        return self.venues.get(venue_id) or Venue(venue_id, venue_id, "", UNPLACED[0])

    def township_name(self, township: str) -> str:
        return UNPLACED[1] if township == UNPLACED[0] else self.townships.get(township, township)

    def unit(self, venue_id: str, scope: str) -> tuple[str, str]:
        """(code, name) of the unit a venue counts under at ``scope``."""
        if scope == "county":
            return self.county, self.county_name
        v = self.venue(venue_id)
        if scope == "township":
            return v.township, self.township_name(v.township)
        return v.id, v.name

    def zone(self, venue_id: str) -> ZoneInfo:
        return ZoneInfo(self.venue(venue_id).timezone)


# --- periods -----------------------------------------------------------------------------------


def period(kind: str, at: str, zone: ZoneInfo = CHINA) -> tuple[str, datetime, datetime]:
    """(label, since, until) of a month ``2026-11``, a year ``2026`` or a term ``2026-autumn``
    (1 Aug – 31 Jan) / ``2026-spring`` (1 Feb – 31 Jul), in the county's zone."""
    try:
        if kind == "month":
            year, month = (int(x) for x in at.split("-"))
            start = datetime(year, month, 1, tzinfo=zone)
            end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
        elif kind == "year":
            start, end = datetime(int(at), 1, 1, tzinfo=zone), datetime(int(at) + 1, 1, 1, tzinfo=zone)
        elif kind == "term":
            year_text, _, half = at.partition("-")
            year = int(year_text)
            if half == "spring":
                start, end = datetime(year, 2, 1, tzinfo=zone), datetime(year, 8, 1, tzinfo=zone)
            elif half == "autumn":
                start, end = datetime(year, 8, 1, tzinfo=zone), datetime(year + 1, 2, 1, tzinfo=zone)
            else:
                raise ValueError(half)
        else:
            raise StatisticsError(f"统计周期只能是 month/term/year / period must be month, term or year, not {kind!r}")
    except ValueError as err:
        raise StatisticsError(f"统计周期格式不对 / {kind} {at!r}: expected 2026-11 (month), 2026 (year) or "
                              "2026-autumn / 2026-spring (term)") from err
    return at, start, end


# --- population and star criteria -------------------------------------------------------------


@dataclass(frozen=True)
class Population:
    residents: int
    elderly: int


def read_population(text: str) -> dict[str, Population]:
    """The county's CSV: ``township,residents,elderly`` (a header row; extra columns such as
    a name are ignored). Township codes are the registry's."""
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    out: dict[str, Population] = {}
    for n, row in enumerate(rows, start=2):
        try:
            township = row["township"].strip()
            out[township] = Population(int(row["residents"]), int(row["elderly"]))
        except (KeyError, ValueError, AttributeError) as err:
            raise StatisticsError(f"人口文件第 {n} 行有误 / population file line {n}: expected "
                                  "township,residents,elderly with whole numbers") from err
        if out[township].residents <= 0 or out[township].elderly < 0:
            raise StatisticsError(f"人口文件第 {n} 行有误 / population file line {n}: residents must be > 0")
    return out


@dataclass(frozen=True)
class StarCriteria:
    """The county's published criteria for learning-star candidates (百姓学习之星)."""

    min_hours: float = 20.0
    min_attendances: int = 10
    min_months: int = 3

    def __post_init__(self) -> None:
        if self.min_hours <= 0:
            raise StatisticsError("学习之星的学时下限必须大于 0 / the stars' minimum hours must be above 0: "
                                  "a learner with no study hours is never a candidate")


# --- tables ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    title: str  # Chinese header (English in the JSON's columns)
    english: str
    kind: str = "int"  # text, int, float, percent


@dataclass
class Table:
    name: str  # sheet name (Chinese)
    key: str   # file name
    columns: list[Column]
    rows: list[dict[str, Any]]
    totals: dict[str, Any] | None = None
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "columns": [{"key": c.key, "zh": c.title, "en": c.english, "kind": c.kind}
                                                for c in self.columns],
                "rows": self.rows, "totals": self.totals, "note": self.note}


@dataclass
class Statistics:
    label: str
    scope: str
    since: datetime
    until: datetime
    tables: list[Table]
    monthly: list[tuple[str, int, float]]
    categories: list[tuple[str, float]]

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)

    def as_json(self) -> dict[str, Any]:
        return {"period": self.label, "scope": self.scope, "since": self.since.isoformat(),
                "until": self.until.isoformat(), "tables": {t.key: t.as_json() for t in self.tables}}


CONSENT_COUNTS = {"given": ("同意", "consents given"), "withdrawn": ("撤回", "withdrawn"),
                  "minors": ("其中未成年人(监护人同意)", "of them minors (guardian consented)"),
                  "walk_ins": ("其中散客", "of them walk-ins"), "registrations": ("其中报名", "of them registrations")}


def _consent_counts(data: dict[str, Any]) -> list[str]:
    if data["status"] == "withdrawn":
        return ["withdrawn"]
    return ["given", *(["minors"] if data.get("minor") else []),
            "walk_ins" if data["temporary"] else "registrations"]


def _ratio(a: int | float, b: int | float) -> float | None:
    return round(a / b, 4) if b else None


@dataclass
class _Unit:
    """Running figures of one unit (or one unit × category/form/audience)."""

    sessions: set[str] = field(default_factory=set)
    attendances: int = 0
    learners: set[str] = field(default_factory=set)
    minutes: int = 0
    ratings: list[int] = field(default_factory=list)
    rated_sessions: set[str] = field(default_factory=set)
    registered: set[tuple[str, str, str]] = field(default_factory=set)  # (learner, "s"/"c", session/course)
    staff_seconds: float = 0.0

    def hours(self) -> float:
        return round(self.minutes / 60, 2)


def _collect(records: Iterable[Record], since: datetime, until: datetime,
             keep: Callable[[Record], bool]) -> list[Record]:
    out = []
    for rec in records:
        moment = parse_time(rec.event["time"])
        if since <= moment < until and keep(rec):
            out.append(rec)
    return out


def build(records: Iterable[Record], tree: Tree, label: str, since: datetime, until: datetime, scope: str = "venue",
          population: dict[str, Population] | None = None, stars: StarCriteria | None = None,
          keep: Callable[[Record], bool] = lambda rec: True) -> Statistics:
    """Every table for the records whose fact lies in [since, until). ``keep`` drops records
    the county excludes (erased learners, records held for review)."""
    if scope not in SCOPES:
        raise StatisticsError(f"统计范围只能是 venue/township/county / scope must be one of {', '.join(SCOPES)}")
    stars = stars or StarCriteria()
    recs = _collect(records, since, until, keep)
    sessions: dict[str, dict[str, Any]] = {}
    for rec in recs:
        if rec.type == "session.opened":
            sessions[rec.data["session_id"]] = {**rec.data, "opened": rec.event["time"], "venue": rec.event["venue"]}
        elif rec.type == "session.closed" and rec.data["session_id"] in sessions:
            sessions[rec.data["session_id"]]["closed"] = rec.event["time"]
    groups: dict[str, set[str]] = defaultdict(set)
    for rec in recs:
        if rec.type == "attendance.checkin":
            groups[rec.data["learner"]].update(rec.data["groups"])

    units: dict[tuple[str, str], _Unit] = defaultdict(_Unit)
    total = _Unit()
    by_category: dict[tuple[str, str, str], _Unit] = defaultdict(_Unit)
    by_form: dict[tuple[str, str, str], _Unit] = defaultdict(_Unit)
    by_audience: dict[tuple[str, str, str], _Unit] = defaultdict(_Unit)
    by_township: dict[str, _Unit] = defaultdict(_Unit)
    attended: set[tuple[str, str, str]] = set()
    learner_minutes: dict[str, int] = defaultdict(int)
    learner_attendances: dict[str, int] = defaultdict(int)
    learner_months: dict[str, set[str]] = defaultdict(set)
    learner_venues: dict[str, set[str]] = defaultdict(set)
    monthly_att: dict[str, int] = defaultdict(int)
    monthly_min: dict[str, int] = defaultdict(int)
    staff: dict[tuple[str, str], _Unit] = defaultdict(_Unit)
    registrations: dict[tuple[str, str, str], tuple[list[_Unit], str]] = {}
    consents: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(CONSENT_COUNTS, 0))

    def places(rec: Record, session_id: str | None, depth: int = 99) -> list[_Unit]:
        """The running figures a record counts in: its unit and the total (depth 2), then its
        category, form and township (depth 5), then its learner's audiences."""
        venue = sessions[session_id]["venue"] if session_id in sessions else rec.event["venue"]
        unit = tree.unit(venue, scope)
        out = [units[unit], total]
        if depth <= 2:
            return out
        category = sessions[session_id]["category"] if session_id in sessions else SELF_STUDY
        form = (sessions[session_id].get("form") or "class") if session_id in sessions else (
            "class" if session_id else SELF_STUDY)
        out += [by_category[(*unit, category)], by_form[(*unit, form)], by_township[tree.venue(venue).township]]
        if depth <= 5:
            return out
        audience = sorted(groups.get(rec.data.get("learner", ""), ())) or ["none"]
        return out + [by_audience[(*unit, g)] for g in audience]

    for rec in recs:
        data = rec.data
        month = parse_time(rec.event["time"]).astimezone(tree.zone(rec.event["venue"])).strftime("%Y-%m")
        if rec.type == "session.opened":
            sid = data["session_id"]
            for u in places(rec, sid, 5):
                u.sessions.add(sid)
        elif rec.type in ("attendance.checkin", "attendance.manual"):
            learner, sid = data["learner"], data["session_id"]
            for u in places(rec, sid):
                u.attendances += 1
                u.learners.add(learner)
            learner_attendances[learner] += 1
            learner_months[learner].add(month)
            monthly_att[month] += 1
            if sid:
                attended.add((learner, "s", sid))
                if sessions.get(sid, {}).get("course_id"):
                    attended.add((learner, "c", sessions[sid]["course_id"]))
        if rec.type in ("attendance.checkout", "attendance.manual"):
            learner, sid = data["learner"], data["session_id"]
            for u in places(rec, sid):
                u.minutes += data["minutes_credited"]
                u.learners.add(learner)
            learner_minutes[learner] += data["minutes_credited"]
            learner_venues[learner].add(rec.event["venue"])
            monthly_min[month] += data["minutes_credited"]
        elif rec.type == "rating":
            for u in places(rec, data["session_id"], 2):
                u.ratings.append(data["score"])
                if data["session_id"]:
                    u.rated_sessions.add(data["session_id"])
        elif rec.type == "consent":  # issue 17: counted apart, never a learner of the unit
            for key in _consent_counts(data):
                consents[tree.unit(rec.event["venue"], scope)][key] += 1
                consents[("合计", "合计 / total")][key] += 1
        elif rec.type == "enrollment":
            # for a session, or (data version 2) for a course; the latest status counts
            target = ("s", data["session_id"]) if data["session_id"] else ("c", data.get("course_id") or "")
            if target[1]:
                registrations[(data["learner"], *target)] = (places(rec, data["session_id"], 2),
                                                             data.get("status", "registered"))
    for key, (where, status) in registrations.items():
        if status == "registered":
            for u in where:
                u.registered.add(key)
    for sid, s in sessions.items():
        end = parse_time(s["closed"]) if "closed" in s else parse_time(s["planned_end"])
        seconds = max(0.0, (end - parse_time(s["opened"])).total_seconds())
        unit = tree.unit(s["venue"], scope)
        who = s.get("staff_id") or "未指定"  # data version 2: a session the timetable opened names nobody
        for u in (units[unit], total, staff[(who, s["venue"])]):
            u.staff_seconds += seconds
        staff[(who, s["venue"])].sessions.add(sid)

    def elder(u: _Unit) -> int:
        return sum(1 for learner in u.learners if "elder" in groups.get(learner, ()))

    def summary_row(code: str, name: str, u: _Unit) -> dict[str, Any]:
        came = len({pair for pair in u.registered if pair in attended})
        return {"code": code, "name": name, "sessions": len(u.sessions), "attendances": u.attendances,
                "learners": len(u.learners), "hours": u.hours(), "elder_learners": elder(u),
                "elder_share": _ratio(elder(u), len(u.learners)), "registered": len(u.registered),
                "registered_attended": came, "attendance_rate": _ratio(came, len(u.registered)),
                "ratings": len(u.ratings),
                "satisfaction": round(sum(u.ratings) / len(u.ratings), 2) if u.ratings else None,
                "satisfied_share": _ratio(sum(1 for r in u.ratings if r >= 4), len(u.ratings)),
                "rated_share": _ratio(len(u.rated_sessions), len(u.sessions)),
                "service_hours": round(u.staff_seconds / 3600, 2)}

    unit_col = [Column("code", "单位代码", "unit code", "text"), Column("name", "单位名称", "unit name", "text")]
    summary = Table("概况", "summary", [*unit_col,
        Column("sessions", "开班场次", "sessions held"), Column("attendances", "学习人次", "attendances"),
        Column("learners", "学习人数", "distinct learners"), Column("hours", "学时", "study hours", "float"),
        Column("elder_learners", "老年学员数", "elderly learners"),
        Column("elder_share", "老年学员占比", "elderly share", "percent"),
        Column("registered", "报名人次", "registrations"), Column("registered_attended", "报名后到课人次",
                                                                   "registrations attended"),
        Column("attendance_rate", "到课率", "attendance rate of registrations", "percent"),
        Column("ratings", "评价次数", "ratings"), Column("satisfaction", "平均满意度(1-5)", "average score", "float"),
        Column("satisfied_share", "满意率(4-5分)", "share of ratings 4-5", "percent"),
        Column("rated_share", "已评价场次占比", "share of sessions rated", "percent"),
        Column("service_hours", "教学服务时长", "teaching/volunteer service hours", "float")],
        [summary_row(*k, units[k]) for k in sorted(units)],
        summary_row("合计", "合计 / total", total),
        "学习人数按学习码去重：合计不等于各行之和 / learners are distinct by learner code: the total is not the sum")

    def split_table(name: str, key: str, label_col: Column, parts: dict[tuple[str, str, str], _Unit],
                    names: dict[str, str]) -> Table:
        rows = [{"code": code, "name": uname, label_col.key: names.get(part, part), "attendances": u.attendances,
                 "learners": len(u.learners), "hours": u.hours(), "sessions": len(u.sessions)}
                for (code, uname, part), u in sorted(parts.items())]
        return Table(name, key, [*unit_col, label_col, Column("sessions", "开班场次", "sessions held"),
                                 Column("attendances", "学习人次", "attendances"),
                                 Column("learners", "学习人数", "distinct learners"),
                                 Column("hours", "学时", "study hours", "float")], rows,
                     {"code": "合计", "name": "合计 / total", label_col.key: "", "sessions": len(total.sessions),
                      "attendances": total.attendances, "learners": len(total.learners), "hours": total.hours()})

    category = split_table("内容类别", "categories", Column("category", "内容类别", "content category", "text"),
                           by_category, CATEGORY_NAMES)
    form = split_table("活动形式", "forms", Column("form", "活动形式", "activity form", "text"), by_form, FORM_NAMES)
    audience = split_table("服务对象", "audiences", Column("audience", "服务对象", "audience", "text"), by_audience,
                           AUDIENCE_NAMES)
    audience.totals = None  # a learner may belong to several groups: no meaningful sum
    audience.columns = [c for c in audience.columns if c.key != "sessions"]  # sessions have no audience
    audience.note = "一人可属多类，不设合计 / a learner may be in several groups: no total row"

    tree_table = Table("场所", "venue-tree", [Column("county", "县(区)", "county", "text"),
                                          Column("township", "乡镇(街道)代码", "township code", "text"),
                                          Column("township_name", "乡镇(街道)", "township", "text"),
                                          Column("venue", "场所代码", "venue code", "text"),
                                          Column("venue_name", "场所名称", "venue", "text"),
                                          Column("level", "层级", "level", "text")],
                       [{"county": tree.county_name, "township": v.township,
                         "township_name": tree.township_name(v.township), "venue": v.id, "venue_name": v.name,
                         "level": v.level} for v in sorted(tree.venues.values(), key=lambda v: (v.township, v.id))])

    rates = _rates(tree, by_township, total, population, elder)
    candidates = sorted((learner for learner, minutes in learner_minutes.items()
                         if minutes / 60 >= stars.min_hours and minutes > 0
                         and learner_attendances[learner] >= stars.min_attendances
                         and len(learner_months[learner]) >= stars.min_months),
                        key=lambda learner: (-learner_minutes[learner], learner))
    star_table = Table("学习之星候选", "star-candidates", [Column("rank", "序号", "rank"),
                                                 Column("learner", "学习码", "learner code", "text"),
                                                 Column("hours", "学时", "study hours", "float"),
                                                 Column("attendances", "学习人次", "attendances"),
                                                 Column("months", "活跃月数", "active months"),
                                                 Column("venues", "学习场所", "venues", "text")],
                       [{"rank": i + 1, "learner": learner, "hours": round(learner_minutes[learner] / 60, 2),
                         "attendances": learner_attendances[learner], "months": len(learner_months[learner]),
                         "venues": ";".join(sorted(learner_venues[learner]))} for i, learner in enumerate(candidates)],
                       note=f"条件 / criteria: 学时 ≥ {stars.min_hours:g}, 人次 ≥ {stars.min_attendances}, "
                            f"活跃月数 ≥ {stars.min_months}；仅学习码（化名）/ learner codes only")
    staff_table = Table("教学服务", "service", [Column("staff", "教师/志愿者编号", "staff id", "text"),
                                                Column("venue", "场所代码", "venue code", "text"),
                                                Column("sessions", "场次", "sessions"),
                                                Column("hours", "服务时长", "service hours", "float")],
                        [{"staff": s, "venue": v, "sessions": len(u.sessions),
                          "hours": round(u.staff_seconds / 3600, 2)} for (s, v), u in sorted(staff.items())],
                        {"staff": "合计", "venue": "", "sessions": len(sessions),
                         "hours": round(total.staff_seconds / 3600, 2)},
                        "开班到结班的时长（未结班按计划结束）/ from opening to closing (planned end if never closed)")
    months = sorted(set(monthly_att) | set(monthly_min))
    monthly = [(m, monthly_att[m], round(monthly_min[m] / 60, 2)) for m in months]
    month_table = Table("月度", "monthly", [Column("month", "月份", "month", "text"),
                                            Column("attendances", "学习人次", "attendances"),
                                            Column("hours", "学时", "study hours", "float")],
                        [{"month": m, "attendances": a, "hours": h} for m, a, h in monthly],
                        {"month": "合计", "attendances": total.attendances, "hours": total.hours()})
    cats: dict[str, int] = defaultdict(int)
    for (_, _, cat), u in by_category.items():
        cats[CATEGORY_NAMES.get(cat, cat)] += u.minutes
    total_consents = consents.pop(("合计", "合计 / total"), dict.fromkeys(CONSENT_COUNTS, 0))
    consent_table = Table("个人信息同意", "consents", [*unit_col, *(Column(k, zh, en) for k, (zh, en)
                                                                  in CONSENT_COUNTS.items())],
                          [{"code": code, "name": uname, **n} for (code, uname), n in sorted(consents.items())],
                          {"code": "合计", "name": "合计 / total", **total_consents},
                          "签到机上的同意记录（扫码报名、工作人员登记散客）/ consent records made at the kiosks")
    return Statistics(label, scope, since, until,
                      [summary, tree_table, category, form, audience, rates, star_table, staff_table, month_table,
                       consent_table],
                      monthly, sorted(((c, round(m / 60, 2)) for c, m in cats.items()), key=lambda x: -x[1]))


def _rates(tree: Tree, by_township: dict[str, _Unit], total: _Unit, population: dict[str, Population] | None,
           elder: Callable[[_Unit], int]) -> Table:
    columns = [Column("township", "乡镇(街道)代码", "township code", "text"),
               Column("name", "乡镇(街道)", "township", "text"),
               Column("residents", "常住人口", "residents"), Column("elderly", "老年人口", "elderly residents"),
               Column("learners", "学习人数", "distinct learners"),
               Column("participation", "参与率", "participation rate", "percent"),
               Column("elder_learners", "老年学员数", "elderly learners"),
               Column("elder_participation", "老年人参与率", "elderly participation rate", "percent"),
               Column("attendances", "学习人次", "attendances"),
               Column("training_rate", "年培训率(人次/常住人口)", "training rate (attendances / residents)",
                      "percent")]
    if not population:
        return Table("比率", "rates", columns, [], None,
                     "未提供人口数据（--population）/ no population file given (--population): no rates")
    rows = []
    residents = elderly = 0
    for township in sorted(set(population) | set(by_township)):
        u = by_township.get(township, _Unit())
        pop = population.get(township)
        if pop:
            residents += pop.residents
            elderly += pop.elderly
        rows.append({"township": township, "name": tree.township_name(township),
                     "residents": pop.residents if pop else None, "elderly": pop.elderly if pop else None,
                     "learners": len(u.learners),
                     "participation": _ratio(len(u.learners), pop.residents) if pop else None,
                     "elder_learners": elder(u),
                     "elder_participation": _ratio(elder(u), pop.elderly) if pop else None,
                     "attendances": u.attendances,
                     "training_rate": _ratio(u.attendances, pop.residents) if pop else None})
    totals = {"township": "合计", "name": "合计 / total", "residents": residents, "elderly": elderly,
              "learners": len(total.learners), "participation": _ratio(len(total.learners), residents),
              "elder_learners": elder(total), "elder_participation": _ratio(elder(total), elderly),
              "attendances": total.attendances, "training_rate": _ratio(total.attendances, residents)}
    return Table("比率", "rates", columns, rows, totals,
                 "参与率 = 学习人数 / 常住人口；年培训率 = 学习人次 / 常住人口 / participation = learners / residents; "
                 "training rate = attendances / residents")
