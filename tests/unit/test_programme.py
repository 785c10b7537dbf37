"""The programme (课程表) from spreadsheet rows: every fault named, nothing half-made, and
the rows given back as they came."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from records import programme
from records.programme import ProgrammeRowsError, body_to_rows, occurrences, rows_to_body

ZONE = ZoneInfo("Asia/Shanghai")


def row(**changes: str) -> dict[str, str]:
    base = {"venue": "v-town", "course_id": "phone-basics", "title_zh": "智能手机入门", "title_en": "Smartphones",
            "category": "science-tech", "form": "workshop", "audience": "elderly", "staff_id": "t-li",
            "capacity": "20", "registration": "term", "credit_rule": "standard", "date": "", "weekday": "2",
            "term_start": "2026-11-01", "term_end": "2026-12-31", "start": "09:00", "end": "10:30"}
    return {**base, **changes}


def make(rows: list[dict[str, str]]) -> dict:
    return rows_to_body(rows, rules={"standard"}, staff={"t-li"})


class TestRows:
    def test_a_good_sheet_makes_courses_with_their_times(self) -> None:
        """Rows of one course gather under it; one-off and weekly times both kept."""
        body = make([row(), row(weekday="4"), row(course_id="tai-chi", title_zh="太极拳", weekday="", term_start="",
                                                  term_end="", date="2026-11-28", staff_id="", capacity="")])
        assert ["phone-basics", "tai-chi"] == [c["course_id"] for c in body["courses"]]
        assert 2 == len(body["courses"][0]["times"])
        assert body["courses"][1]["staff_id"] is None and body["courses"][1]["capacity"] is None
        assert [c["id"] for c in programme.DEFAULT_CATEGORIES] == [c["id"] for c in body["categories"]]

    def test_rows_come_back_as_they_went_in(self) -> None:
        """import → export is a round trip."""
        rows = [row(), row(weekday="4"), row(course_id="tai-chi", title_zh="太极拳", title_en="", weekday="",
                                             term_start="", term_end="", date="2026-11-28", capacity="")]
        assert rows == body_to_rows(make(rows))

    @pytest.mark.parametrize(("change", "column", "words"), [
        ({"venue": "Town School"}, "venue", "[a-z0-9-]"),
        ({"course_id": ""}, "course_id", "[a-z0-9-]"),
        ({"title_zh": ""}, "title_zh", "Chinese title"),
        ({"category": "digital-skills"}, "category", "not one of"),
        ({"form": "talk"}, "form", "not one of"),
        ({"audience": "old"}, "audience", "not one of"),
        ({"registration": "yes"}, "registration", "not one of"),
        ({"staff_id": "t-wang"}, "staff_id", "not on the roster"),
        ({"capacity": "0"}, "capacity", "whole number"),
        ({"capacity": "twenty"}, "capacity", "whole number"),
        ({"credit_rule": "generous"}, "credit_rule", "no credit rule"),
        ({"start": "9:00"}, "start", "HH:MM"),
        ({"end": "25:00"}, "end", "HH:MM"),
        ({"end": "08:00"}, "end", "after the start"),
        ({"weekday": "8"}, "weekday", "1 (Monday)"),
        ({"term_start": "2026-13-01"}, "term_start", "YYYY-MM-DD"),
        ({"term_end": "2026-10-01"}, "term_end", "ends before"),
        ({"date": "2026-11-28"}, "weekday", "not both"),
        ({"weekday": "", "term_start": "", "term_end": ""}, "date", "give a date"),
        ({"weekday": "", "term_start": "", "term_end": "", "date": "28/11/2026"}, "date", "YYYY-MM-DD"),
    ])
    def test_each_bad_cell_is_named(self, change: dict[str, str], column: str, words: str) -> None:
        """A bad row is refused with its row, its column and what is wrong, in zh and en."""
        with pytest.raises(ProgrammeRowsError) as caught:
            make([row(), row(**{"weekday": "4", **change})])
        (error,) = caught.value.errors
        assert (3, column) == (error.row, error.column)
        assert words in error.en and error.zh
        assert f"第 3 行 {column} 列" in str(caught.value)

    def test_every_bad_row_is_reported_at_once(self) -> None:
        """Two bad rows, two messages; no programme at all."""
        with pytest.raises(ProgrammeRowsError) as caught:
            make([row(capacity="-1"), row(weekday="4"), row(weekday="5", start="noon")])
        assert [(2, "capacity"), (4, "start")] == [(e.row, e.column) for e in caught.value.errors]

    def test_a_course_that_disagrees_with_itself_is_refused(self) -> None:
        """Two rows of one course must name the same title, rule, teacher…"""
        with pytest.raises(ProgrammeRowsError) as caught:
            make([row(), row(weekday="4", title_zh="手机课")])
        assert [(3, "title_zh")] == [(e.row, e.column) for e in caught.value.errors]

    def test_a_time_listed_twice_is_refused(self) -> None:
        with pytest.raises(ProgrammeRowsError) as caught:
            make([row(), row()])
        assert [(3, "start")] == [(e.row, e.column) for e in caught.value.errors]

    def test_an_unknown_column_and_an_empty_sheet_are_refused(self) -> None:
        with pytest.raises(ProgrammeRowsError) as caught:
            make([{**row(), "teacher": "李老师"}])
        assert "teacher" == caught.value.errors[0].column
        with pytest.raises(ProgrammeRowsError):
            make([])

    def test_a_venue_must_be_in_the_registry_when_given(self) -> None:
        with pytest.raises(ProgrammeRowsError) as caught:
            rows_to_body([row()], rules={"standard"}, staff={"t-li"}, venues={"v-village"})
        assert [(2, "venue")] == [(e.row, e.column) for e in caught.value.errors]
        assert rows_to_body([row()], rules={"standard"}, staff={"t-li"}, venues={"v-town"})["courses"]

    def test_the_county_may_extend_the_categories(self) -> None:
        cats = [*programme.DEFAULT_CATEGORIES, {"id": "tea-culture", "zh": "茶文化", "en": "Tea culture"}]
        body = rows_to_body([row(category="tea-culture")], categories=cats, rules={"standard"}, staff={"t-li"})
        assert "tea-culture" in programme.category_ids(body)


class TestOccurrences:
    body = make([row(), row(course_id="tai-chi", title_zh="太极拳", weekday="", term_start="", term_end="",
                            date="2026-11-28", start="15:00", end="16:00")])

    def test_weekly_times_fall_on_their_weekday_within_the_term(self) -> None:
        """Tuesdays of the term only."""
        assert ["phone-basics@2026-11-24T09:00"] == [o.key for o in occurrences(self.body, "v-town",
                                                                                 date(2026, 11, 24), ZONE)]
        assert [] == occurrences(self.body, "v-town", date(2026, 11, 25), ZONE)
        assert [] == occurrences(self.body, "v-town", date(2027, 1, 5), ZONE)  # a Tuesday after the term
        assert [] == occurrences(self.body, "v-other", date(2026, 11, 24), ZONE)

    def test_one_off_times_fall_on_their_date(self) -> None:
        (only,) = occurrences(self.body, "v-town", date(2026, 11, 28), ZONE)
        assert ("15:00", "16:00") == (only.start.strftime("%H:%M"), only.end.strftime("%H:%M"))
        assert ZONE == only.start.tzinfo

    def test_session_settings_default_and_closing_time(self) -> None:
        before, after = programme.window(self.body)
        assert (15, 15) == (before.seconds // 60, after.seconds // 60)
        assert "21:00" == programme.closing_time(self.body, date(2026, 11, 28), ZONE).strftime("%H:%M")
