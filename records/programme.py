"""The county's programme (课程表): per venue, the courses and their planned sessions.

Pure: the programme is the ``body`` of a signed county document of kind ``programme``
(see :mod:`records.county`). County staff keep it as a spreadsheet, one row per planned
time: a one-off ``date`` or a ``weekday`` repeated between ``term_start`` and
``term_end``. :func:`rows_to_body` checks every row and gives one :class:`RowError` per
fault (row, column, what is wrong) — a programme with any error is refused whole;
:func:`body_to_rows` gives the same rows back, so import → export is a round trip.

body = {"categories": [{"id", "zh", "en"}], "session_defaults": {...},
        "courses": [{"course_id", "venue", "title_zh", "title_en", "category", "form",
                     "audience", "staff_id", "capacity", "registration", "credit_rule",
                     "times": [{"date"|"weekday"+"term_start"+"term_end", "start", "end"}]}]}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from records.ids import is_valid_name

# The policy's content categories, plus two the county's own work needs. The county may
# extend this list (``categories`` in the document); ids are what records carry.
DEFAULT_CATEGORIES: tuple[dict[str, str], ...] = (
    {"id": "civic", "zh": "公民素养", "en": "Civic literacy"},
    {"id": "integrity", "zh": "诚信教育", "en": "Integrity"},
    {"id": "humanities-arts", "zh": "人文艺术", "en": "Humanities and arts"},
    {"id": "science-tech", "zh": "科学技术", "en": "Science and technology"},
    {"id": "vocational", "zh": "职业技能", "en": "Vocational skills"},
    {"id": "early-education", "zh": "早期教育", "en": "Early education"},
    {"id": "sports-fitness", "zh": "运动健身", "en": "Sports and fitness"},
    {"id": "health", "zh": "养生保健", "en": "Health care"},
    {"id": "leisure", "zh": "生活休闲", "en": "Leisure"},
    {"id": "worker-volunteer-training", "zh": "社区工作者与志愿者培训",
     "en": "Community worker and volunteer training"},
    {"id": "other", "zh": "其他", "en": "Other"},
)
FORMS = ("lecture", "workshop", "practice", "visit", "performance", "online", "self-study", "other")
AUDIENCES = ("all", "elderly", "youth", "children", "adults", "migrants", "disabled")
REGISTRATION = ("none", "session", "term")  # none: walk in; session: per session; term: once per term
DEFAULT_SESSION_SETTINGS = {"checkin_window_minutes": 15, "grace_minutes": 15, "closing_time": "21:00"}

# The spreadsheet's columns, in order (the template's header row).
COLUMNS = ("venue", "course_id", "title_zh", "title_en", "category", "form", "audience", "staff_id",
           "capacity", "registration", "credit_rule", "date", "weekday", "term_start", "term_end",
           "start", "end")
COURSE_COLUMNS = COLUMNS[:11]
TIME_COLUMNS = COLUMNS[11:]
MAX_CAPACITY = 10_000


@dataclass(frozen=True)
class RowError:
    """One fault of one spreadsheet row (``row`` counts the header as row 1)."""

    row: int
    column: str
    zh: str
    en: str

    def __str__(self) -> str:
        return f"第 {self.row} 行 {self.column} 列：{self.zh} / row {self.row}, column {self.column}: {self.en}"


class ProgrammeRowsError(ValueError):
    """The rows do not make a programme; ``errors`` lists every fault."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class Occurrence:
    """One planned session of a course on one day, in the venue's time zone."""

    course: dict[str, Any]
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        """Names the planned time: ``<course_id>@<local start>`` (the same on every kiosk)."""
        return f"{self.course['course_id']}@{self.start.strftime('%Y-%m-%dT%H:%M')}"


def parse_hhmm(text: str) -> time | None:
    """The time of ``HH:MM`` (exactly that spelling), or None."""
    try:
        parsed = datetime.strptime(text, "%H:%M").time()
    except ValueError:
        return None
    return parsed if text == parsed.strftime("%H:%M") else None


def _day(text: str) -> date | None:
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        return None
    return parsed if text == parsed.isoformat() else None


def category_ids(body: dict[str, Any] | None) -> list[str]:
    cats = (body or {}).get("categories") or DEFAULT_CATEGORIES
    return [str(c["id"]) for c in cats]


class _Checker:
    def __init__(self, categories: list[str], rules: set[str] | None, staff: set[str] | None,
                 venues: set[str] | None) -> None:
        self.categories = categories
        self.rules = rules
        self.staff = staff
        self.venues = venues
        self.errors: list[RowError] = []

    def fail(self, row: int, column: str, zh: str, en: str) -> None:
        self.errors.append(RowError(row, column, zh, en))

    def course(self, n: int, row: dict[str, str]) -> dict[str, Any] | None:
        ok = True
        for column in ("venue", "course_id"):
            if not is_valid_name(row[column]):
                self.fail(n, column, "应为 3-40 位小写字母、数字或连字符", "must match [a-z0-9-]{3,40}")
                ok = False
        if ok and self.venues is not None and row["venue"] not in self.venues:
            self.fail(n, "venue", f"场所“{row['venue']}”不在登记表中（先在那里登记签到机）",
                      f"venue {row['venue']!r} is not in the registry (enrol a kiosk there first)")
            ok = False
        if not row["title_zh"] or len(row["title_zh"]) > 200:
            self.fail(n, "title_zh", "课程名称不能为空，最多 200 字", "the Chinese title is needed (at most 200)")
            ok = False
        if len(row["title_en"]) > 200:
            self.fail(n, "title_en", "英文名称最多 200 字", "the English title is at most 200 characters")
            ok = False
        for column, allowed in (("category", self.categories), ("form", FORMS), ("audience", AUDIENCES),
                                ("registration", REGISTRATION)):
            if row[column] not in allowed:
                self.fail(n, column, f"“{row[column]}”不在可选项中：{'、'.join(allowed)}",
                          f"{row[column]!r} is not one of {', '.join(allowed)}")
                ok = False
        if row["staff_id"] and not (is_valid_name(row["staff_id"])
                                    and (self.staff is None or row["staff_id"] in self.staff)):
            self.fail(n, "staff_id", f"工作人员“{row['staff_id']}”不在名册中",
                      f"staff {row['staff_id']!r} is not on the roster")
            ok = False
        capacity = row["capacity"]
        if capacity and not (capacity.isdigit() and 1 <= int(capacity) <= MAX_CAPACITY
                             and str(int(capacity)) == capacity):
            self.fail(n, "capacity", f"名额应为 1-{MAX_CAPACITY} 的整数，或留空（不限）",
                      f"capacity is a whole number 1..{MAX_CAPACITY}, or empty (no limit)")
            ok = False
        if self.rules is not None and row["credit_rule"] not in self.rules:
            self.fail(n, "credit_rule", f"学时规则“{row['credit_rule']}”不存在（先用 rules set 设定）",
                      f"no credit rule {row['credit_rule']!r} (set it first with `rules set`)")
            ok = False
        if not ok:
            return None
        return {"course_id": row["course_id"], "venue": row["venue"], "title_zh": row["title_zh"],
                "title_en": row["title_en"], "category": row["category"], "form": row["form"],
                "audience": row["audience"], "staff_id": row["staff_id"] or None,
                "capacity": int(capacity) if capacity else None, "registration": row["registration"],
                "credit_rule": row["credit_rule"], "times": []}

    def when(self, n: int, row: dict[str, str]) -> dict[str, Any] | None:
        start, end = parse_hhmm(row["start"]), parse_hhmm(row["end"])
        ok = True
        for column, value in (("start", start), ("end", end)):
            if value is None:
                self.fail(n, column, "时间应为 HH:MM（如 09:00）", "a time is HH:MM (like 09:00)")
                ok = False
        if start and end and end <= start:
            self.fail(n, "end", "结束时间应晚于开始时间", "the end must be after the start")
            ok = False
        entry: dict[str, Any] = {"start": row["start"], "end": row["end"]}
        if row["date"]:
            if row["weekday"] or row["term_start"] or row["term_end"]:
                self.fail(n, "weekday", "一次性课程填日期；每周重复的课程填星期和学期起止，不要都填",
                          "give a date (one-off) or a weekday with term_start and term_end, not both")
                return None
            if _day(row["date"]) is None:
                self.fail(n, "date", "日期应为 YYYY-MM-DD", "a date is YYYY-MM-DD")
                return None
            entry["date"] = row["date"]
            return entry if ok else None
        if not row["weekday"]:
            self.fail(n, "date", "请填日期，或填星期和学期起止", "give a date, or a weekday with the term's dates")
            return None
        if row["weekday"] not in ("1", "2", "3", "4", "5", "6", "7"):
            self.fail(n, "weekday", "星期应为 1（周一）到 7（周日）", "weekday is 1 (Monday) to 7 (Sunday)")
            ok = False
        first, last = _day(row["term_start"]), _day(row["term_end"])
        for column, day_value in (("term_start", first), ("term_end", last)):
            if day_value is None:
                self.fail(n, column, "日期应为 YYYY-MM-DD", "a date is YYYY-MM-DD")
                ok = False
        if first and last and last < first:
            self.fail(n, "term_end", "学期结束应不早于开始", "the term ends before it starts")
            ok = False
        entry.update(weekday=int(row["weekday"]) if row["weekday"].isdigit() else 0,
                     term_start=row["term_start"], term_end=row["term_end"])
        return entry if ok else None


def rows_to_body(rows: list[dict[str, str]], *, categories: list[dict[str, str]] | None = None,
                 rules: set[str] | None = None, staff: set[str] | None = None, venues: set[str] | None = None,
                 session_defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """The programme from spreadsheet rows (row 1 is the header, so data starts at row 2).

    ``rules``/``staff``/``venues``: the credit-rule names, staff ids and venue ids in force
    (None: not checked).
    Raises :class:`ProgrammeRowsError` with every fault; never returns half a programme.
    """
    cats = list(categories or DEFAULT_CATEGORIES)
    checker = _Checker([c["id"] for c in cats], rules, staff, venues)
    courses: dict[str, dict[str, Any]] = {}
    first_row: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    for n, raw in enumerate(rows, start=2):
        unknown = sorted(set(raw) - set(COLUMNS))
        if unknown:
            checker.fail(n, unknown[0], "表头中没有这一列", f"no such column (columns: {', '.join(COLUMNS)})")
            continue
        row = {c: str(raw.get(c) or "").strip() for c in COLUMNS}
        course = checker.course(n, row)
        entry = checker.when(n, row)
        if course is None or entry is None:
            continue
        known = courses.get(course["course_id"])
        if known is None:
            courses[course["course_id"]] = course
            first_row[course["course_id"]] = n
            known = course
        else:
            for column in COURSE_COLUMNS:
                if known[column] != course[column]:
                    checker.fail(n, column, f"与第 {first_row[course['course_id']]} 行同一课程的值不同",
                                 f"differs from row {first_row[course['course_id']]} of the same course")
                    break
        stamp = (course["course_id"], repr(sorted(entry.items())))
        if stamp in seen:
            checker.fail(n, "start", "这一时间重复了", "this time is listed twice")
            continue
        seen.add(stamp)
        known["times"].append(entry)
    if not rows:
        checker.fail(2, "course_id", "表中没有课程", "the sheet has no courses")
    if checker.errors:
        raise ProgrammeRowsError(checker.errors)
    return {"categories": cats, "session_defaults": {**DEFAULT_SESSION_SETTINGS, **(session_defaults or {})},
            "courses": list(courses.values())}


def body_to_rows(body: dict[str, Any]) -> list[dict[str, str]]:
    """The spreadsheet rows of a programme, in the order they were imported."""
    rows = []
    for course in body.get("courses", []):
        base = {c: "" if course.get(c) is None else str(course[c]) for c in COURSE_COLUMNS}
        for entry in course.get("times", []):
            rows.append({**base, **{c: str(entry.get(c, "")) for c in TIME_COLUMNS}})
    return rows


def session_settings(body: dict[str, Any] | None) -> dict[str, Any]:
    return {**DEFAULT_SESSION_SETTINGS, **((body or {}).get("session_defaults") or {})}


def courses_at(body: dict[str, Any] | None, venue: str) -> list[dict[str, Any]]:
    return [c for c in (body or {}).get("courses", []) if c.get("venue") == venue]


def find_course(body: dict[str, Any] | None, course_id: str) -> dict[str, Any] | None:
    for course in (body or {}).get("courses", []):
        if course.get("course_id") == course_id:
            return dict(course)
    return None


def _falls_on(entry: dict[str, Any], day: date) -> bool:
    if "date" in entry:
        return bool(entry["date"] == day.isoformat())
    return bool(entry["term_start"] <= day.isoformat() <= entry["term_end"]
                and day.isoweekday() == int(entry["weekday"]))


def occurrences(body: dict[str, Any] | None, venue: str, day: date, zone: tzinfo) -> list[Occurrence]:
    """The venue's planned sessions on ``day`` (local), earliest first."""
    found = []
    for course in courses_at(body, venue):
        for entry in course.get("times", []):
            if _falls_on(entry, day):
                start = datetime.combine(day, parse_hhmm(entry["start"]) or time(0), zone)
                end = datetime.combine(day, parse_hhmm(entry["end"]) or time(0), zone)
                found.append(Occurrence(course, start, end))
    return sorted(found, key=lambda o: (o.start, o.course["course_id"]))


def closing_time(body: dict[str, Any] | None, day: date, zone: tzinfo) -> datetime:
    """When the venue closes on ``day``: open self-study check-ins expire then."""
    closing = parse_hhmm(str(session_settings(body)["closing_time"])) or time(21, 0)
    return datetime.combine(day, closing, zone)


def window(body: dict[str, Any] | None) -> tuple[timedelta, timedelta]:
    """(check-in window before the planned start, grace after the planned end)."""
    settings = session_settings(body)
    return (timedelta(minutes=int(settings["checkin_window_minutes"])),
            timedelta(minutes=int(settings["grace_minutes"])))
