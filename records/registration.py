"""Registration (注册报名) for a course: who gets a place and who waits. Pure.

A kiosk decides at once from what it knows (:func:`decide`); several kiosks of one venue may
each give away the last place while offline, so the gateway settles every course's list again
from all the venue's ``enrollment`` records (:func:`settle`): the earliest registrations by
record time (then record id) hold the places, the rest wait in that order. A resident who
lost a place this way is shown as ``waiting`` with their place in the county's reports; the
kiosk's answer was provisional and said so ("报名已记录，以服务台确认为准")."""

from __future__ import annotations

from dataclasses import dataclass

REGISTERED, WAITING, CANCELLED = "registered", "waiting", "cancelled"
STATUSES = (REGISTERED, WAITING, CANCELLED)


@dataclass(frozen=True)
class Outcome:
    status: str  # registered or waiting
    place: int  # 0 when registered; 1.. the place on the waiting list


def decide(capacity: int | None, registered: int, waiting: int) -> Outcome:
    """A new registration: a place while any is left, else the next place on the waiting list."""
    if capacity is None or registered < capacity:
        return Outcome(REGISTERED, 0)
    return Outcome(WAITING, waiting + 1)


@dataclass(frozen=True)
class Enrollment:
    """One ``enrollment`` record of a course and scope, as the gateway stored it."""

    learner: str
    status: str  # registered, waiting (both mean "wants a place") or cancelled
    time: str  # the record's time, RFC 3339
    record_id: str


def settle(enrollments: list[Enrollment], capacity: int | None) -> dict[str, Outcome]:
    """Every learner's outcome from all kiosks' records: each learner's latest record counts
    (a cancel removes them); among those who want a place, the earliest first request wins."""
    latest: dict[str, Enrollment] = {}
    first: dict[str, Enrollment] = {}
    for e in sorted(enrollments, key=lambda e: (e.time, e.record_id)):
        latest[e.learner] = e
        if e.status == CANCELLED:
            first.pop(e.learner, None)
        else:
            first.setdefault(e.learner, e)
    wanting = sorted((first[learner] for learner, e in latest.items() if e.status != CANCELLED),
                     key=lambda e: (e.time, e.record_id))
    outcome = {}
    for n, e in enumerate(wanting):
        held = capacity is None or n < capacity
        outcome[e.learner] = Outcome(REGISTERED, 0) if held else Outcome(WAITING, n - (capacity or 0) + 1)
    return outcome
