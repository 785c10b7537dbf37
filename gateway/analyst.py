"""The analyst database: a read-only SQLite copy of the verified records for statisticians,
built with sqlite-utils (the hot path keeps raw ``sqlite3``; this side is sqlite-utils' job).

- one table per record type (``attendance_checkout``, ``session_opened`` …) with typed
  columns: the record's envelope (id, kiosk, venue, epoch, seq, time, local day and month)
  and its body's fields; lists as JSON text;
- ``review`` (``held``, ``accepted`` or ``void`` from the gateway's review of implausible
  records, empty when never held), ``held`` = 1 while held, ``voided`` = 1 when review voided
  it, ``clock_flagged`` = 1 with an implausible clock — all kept, all marked; the views leave
  held and voided records out;
- the venue tree: ``venues`` (with township and county) and ``townships``;
- views for the report's tables: ``venue_figures``, ``township_figures``,
  ``hours_by_category``, ``monthly_figures``;
- full-text search on course titles (``session_opened_fts``).

Learners the county erased are not in it at all (``gateway/privacy.py``). Browse it with
``datasette --immutable FILE``.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from gateway.statistics import CATEGORY_NAMES, Tree
from records.record import Record, parse_time

ENVELOPE = {"id": str, "kiosk": str, "venue": str, "epoch": int, "seq": int, "time": str, "day": str,
            "month": str, "review": str, "held": int, "voided": int, "clock_flagged": int}
OUT = "held = 0 AND voided = 0"  # what the views count

VIEWS = {
    "attendances": """
        SELECT id, venue, time, day, month, learner, session_id, 'checkin' AS kind FROM attendance_checkin
          WHERE {out}
        UNION ALL
        SELECT id, venue, time, day, month, learner, session_id, 'manual' FROM attendance_manual WHERE {out}""",
    "credited": """
        SELECT id, venue, time, day, month, learner, session_id, minutes_credited FROM attendance_checkout
          WHERE {out}
        UNION ALL
        SELECT id, venue, time, day, month, learner, session_id, minutes_credited FROM attendance_manual
          WHERE {out}""",
    "venue_figures": """
        SELECT v.venue, v.name, v.level, v.township, v.township_name,
          (SELECT count(*) FROM session_opened s WHERE s.venue = v.venue AND s.{out}) AS sessions,
          (SELECT count(*) FROM attendances a WHERE a.venue = v.venue) AS attendances,
          (SELECT count(DISTINCT learner) FROM (SELECT learner, venue FROM attendances UNION ALL
             SELECT learner, venue FROM credited) x WHERE x.venue = v.venue) AS learners,
          round((SELECT coalesce(sum(minutes_credited), 0) FROM credited c WHERE c.venue = v.venue) / 60.0, 2)
            AS hours
        FROM venues v ORDER BY v.township, v.venue""",
    "township_figures": """
        SELECT t.township, t.name,
          (SELECT count(*) FROM session_opened s JOIN venues v USING (venue)
             WHERE v.township = t.township AND s.{out}) AS sessions,
          (SELECT count(*) FROM attendances a JOIN venues v USING (venue) WHERE v.township = t.township)
            AS attendances,
          (SELECT count(DISTINCT learner) FROM (SELECT learner, venue FROM attendances UNION ALL
             SELECT learner, venue FROM credited) x JOIN venues v USING (venue) WHERE v.township = t.township)
            AS learners,
          round((SELECT coalesce(sum(minutes_credited), 0) FROM credited c JOIN venues v USING (venue)
             WHERE v.township = t.township) / 60.0, 2) AS hours
        FROM townships t ORDER BY t.township""",
    "hours_by_category": """
        SELECT coalesce(s.category, 'self-study') AS category, coalesce(n.name, '自主学习') AS category_name,
          count(*) AS credited_attendances, round(sum(c.minutes_credited) / 60.0, 2) AS hours
        FROM credited c LEFT JOIN session_opened s ON s.session_id = c.session_id
        LEFT JOIN category_names n ON n.category = coalesce(s.category, 'self-study')
        GROUP BY 1, 2 ORDER BY hours DESC""",
    "monthly_figures": """
        SELECT month, sum(attendances) AS attendances, round(sum(minutes) / 60.0, 2) AS hours FROM (
          SELECT month, 1 AS attendances, 0 AS minutes FROM attendances
          UNION ALL SELECT month, 0, minutes_credited FROM credited) GROUP BY month ORDER BY month""",
}

# every table a view reads, so the views work on a store with no record of a type yet
NEEDED = {"attendance.checkin": {"learner": str, "session_id": str, "card": str, "how": str, "groups": str},
          "attendance.checkout": {"learner": str, "session_id": str, "minutes_credited": int},
          "attendance.manual": {"learner": str, "session_id": str, "minutes_credited": int},
          "session.opened": {"session_id": str, "course": str, "category": str, "staff_id": str}}


def table_name(record_type: str) -> str:
    return record_type.replace(".", "_").replace("-", "_")


def review_states(store: Any) -> dict[str, str]:
    """Record id → review state (held / accepted / void) from the store's ``held`` table,
    which comes with the gateway's review of implausible records; empty before it exists."""
    try:
        return {str(r): str(s) for r, s in store.query("SELECT record_id, state FROM held")}
    except Exception:  # noqa: BLE001 - a store from before the review has no such table
        return {}


def _row(rec: Record, review: str, flags: str, tree: Tree) -> dict[str, Any]:
    local = parse_time(rec.event["time"]).astimezone(tree.zone(rec.event["venue"]))
    row: dict[str, Any] = {"id": rec.id, "kiosk": rec.kiosk, "venue": rec.event["venue"], "epoch": rec.epoch,
                           "seq": rec.seq, "time": rec.event["time"], "day": local.strftime("%Y-%m-%d"),
                           "month": local.strftime("%Y-%m"), "review": review, "held": int(review == "held"),
                           "voided": int(review == "void"), "clock_flagged": int("clock-" in flags)}
    for key, value in rec.data.items():
        row[key] = json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value
    return row


def build(rows: Iterable[tuple[Record, str]], tree: Tree, path: Path, review: dict[str, str] | None = None,
          keep: Callable[[Record], bool] = lambda rec: True) -> dict[str, int]:
    """Write the analyst database to ``path`` (replacing it as a whole: built beside it,
    then renamed) and make it read-only. ``rows`` are (record, store flags); ``review`` the
    review states by record id. Returns the row count per table."""
    review = review or {}
    import sqlite_utils

    tmp = path.with_name(path.name + ".building")
    tmp.unlink(missing_ok=True)
    db = sqlite_utils.Database(tmp)
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec, flags in rows:
        if keep(rec):
            by_type[rec.type].append(_row(rec, review.get(rec.id, ""), flags, tree))
    counts: dict[str, int] = {}
    # one transaction for the whole copy (speed: insert_all would otherwise commit every chunk;
    # the file is only renamed into place when complete, so a crash leaves the old copy)
    with db.atomic():
        for record_type in sorted(set(by_type) | set(NEEDED)):
            name = table_name(record_type)
            columns: dict[str, Any] = {**ENVELOPE, **NEEDED.get(record_type, {})}
            db[name].create(columns, pk="id", not_null={"kiosk", "venue", "time"})
            db[name].insert_all(by_type.get(record_type, []), alter=True)
            counts[name] = len(by_type.get(record_type, []))
        db["townships"].create({"township": str, "name": str}, pk="township")
        db["townships"].insert_all({"township": t, "name": tree.township_name(t)}
                                   for t in sorted({v.township for v in tree.venues.values()} | set(tree.townships)))
        db["venues"].create({"venue": str, "name": str, "level": str, "township": str, "township_name": str,
                             "county": str, "timezone": str}, pk="venue")
        db["venues"].insert_all({"venue": v.id, "name": v.name, "level": v.level, "township": v.township,
                                 "township_name": tree.township_name(v.township), "county": tree.county,
                                 "timezone": v.timezone} for v in tree.venues.values())
        db["category_names"].create({"category": str, "name": str}, pk="category")
        db["category_names"].insert_all({"category": k, "name": n} for k, n in CATEGORY_NAMES.items())
    db["session_opened"].enable_fts(["course"], tokenize="trigram", create_triggers=False)
    for view, sql in VIEWS.items():
        db.create_view(view, sql.replace("s.{out}", "s.held = 0 AND s.voided = 0").replace("{out}", OUT))
    db.conn.close()
    os.chmod(tmp, 0o444)  # a copy to read: changes belong in the gateway's store
    path.unlink(missing_ok=True)
    os.replace(tmp, path)
    return counts
