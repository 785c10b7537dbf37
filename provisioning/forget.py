"""The county forgets a resident (a PIPL erasure, docs/privacy.md): every card of the
learner code is revoked, the masked names are blanked in the card roster
(``cards/index.jsonl``) and the stored credentials (which carry the name) are deleted. What
stays is the learner code and card ids — pseudonymous, and now linked to nobody here."""

from __future__ import annotations

import json
from typing import Any

from provisioning.cards import CardOffice
from provisioning.files import write_atomic
from records.county import revoked_cards


def forget(office: CardOffice, learner: str) -> dict[str, Any]:
    cards = office.find(learner)  # raises CardError when the roster never knew the code
    ids = {c["card"] for c in cards}
    revoked = revoked_cards(office.home.load_document("revoked-cards"))
    newly = [c for c in sorted(ids) if c not in revoked]
    for card_id in newly:
        office.revoke(card_id, "erased (个人信息删除)")
    lock = office._lock()  # the office's own lock: no issue runs meanwhile  # noqa: SLF001
    try:
        path = office.folder / "index.jsonl"
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            if entry["card"] in ids:
                entry = {**entry, "name": None, "forgotten": True}
            lines.append(json.dumps(entry, ensure_ascii=False))
        write_atomic(path, "".join(line + "\n" for line in lines), mode=0o600)
        for card_id in ids:
            (office.folder / f"{card_id}.cose").unlink(missing_ok=True)
    finally:
        lock.close()
    return {"learner": learner, "cards": sorted(ids), "revoked_now": newly}
