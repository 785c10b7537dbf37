"""Pairing at the gateway: unpaired check-outs (a kiosk that could not see the venue's other
kiosks) matched with their check-ins across the venue's kiosks (:mod:`records.pairing`), each
pairing stored as a county correction — an amendment with reason ``paired``, and a void of an
automatic check-out it supersedes — signed with the county corrections key. The relay then
sends one statement for the pair (the amended check-out); reports count its minutes.

Run by the gateway every ``gateway.pair_every_seconds`` when it holds the corrections key, and
by ``learncard gateway pair`` once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from gateway.corrections import CountySigner, correct, corrected
from gateway.ingest import Ingest
from gateway.store import Store
from records.corrections import amended_record
from records.pairing import is_unpaired, pair
from records.record import Record
from records.rules import CreditRule

log = logging.getLogger(__name__)


def pair_unpaired(store: Store, ingest: Ingest, signer: CountySigner, purpose_of: Callable[[str], str | None], *,
                  now: Callable[[], datetime], bootid: str, clock: str,
                  default_rule: CreditRule | None = None) -> list[Record]:
    """Pair every unpaired check-out whose check-in is known; returns the amendments made."""
    records, _ = corrected(store, purpose_of)
    pending = [r for r in records if is_unpaired(r)]
    if not pending:
        return []
    sessions = {r.data["session_id"]: r.data for r in records if r.type == "session.opened"}
    made: list[Record] = []
    for checkout in pending:
        venue = [r for r in records if r.event["venue"] == checkout.event["venue"]]
        found = pair(checkout, venue, sessions, default_rule or CreditRule())
        if found is None:
            continue
        gone = set()
        for auto in found.superseded:
            correct(store, ingest, signer, auto.id, action="void", reason="paired", note=None, amended=None,
                    now=now(), bootid=bootid, clock=clock)
            gone.add(auto.id)
        amendment = correct(store, ingest, signer, checkout.id, action="amend", reason="paired", note=None,
                            amended=found.amended, now=now(), bootid=bootid, clock=clock)
        made.append(amendment)
        records = [amended_record(r, amendment) if r.id == checkout.id else r for r in records if r.id not in gone]
        log.info("paired check-out %s with check-in %s at %s: %d min", checkout.id, found.checkin.id,
                 found.checkin.kiosk, found.amended["minutes_credited"])
    return made
