"""Which named schema migrations a database still needs — the one rule the kiosk journal and
the gateway store share (sqlite-utils' ``migrations`` style: named steps recorded in a
``migrations`` table, applied in order, each once).

Pure: the callers read the names already applied and run the steps. A database that has a
step this program does not know was written by a newer LearnCard; opening it would run old
code on a new schema (a rollback gone wrong), so it is refused, and nothing is changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class NewerDatabase(Exception):
    """The database has migrations this program does not know (``unknown``)."""

    def __init__(self, unknown: list[str]) -> None:
        super().__init__(", ".join(unknown))
        self.unknown = unknown


def pending(known: Sequence[str], applied: Iterable[str]) -> list[str]:
    """The known steps not yet applied, in order; :class:`NewerDatabase` if any applied step
    is unknown here."""
    done = set(applied)
    unknown = sorted(done - set(known))
    if unknown:
        raise NewerDatabase(unknown)
    return [name for name in known if name not in done]
