"""Walk-in slips at the kiosk: making one for a walk-in (signed with this kiosk's record key,
printed when a receipt printer is set) and reading one shown at any kiosk of the county.

A slip read at a kiosk stands in for a card (:class:`WalkinCredential`): the same check-in and
check-out, the same result screen, with no name. Its card id is derived from the slip's bytes
(the slip is the token the resident carries); the learner is the temporary id (``T`` + 12
digits). Verified offline with the registry the kiosk keeps (kiosk/county_docs.py): a slip from
a kiosk the registry does not know, from another county, forged or expired, is refused with
its own reason (records/slip.py).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from kiosk.county_docs import CountyDocuments
from kiosk.errors import PrinterUnavailable
from kiosk.signer import Signer
from kiosk.slip_printer import SlipPrinter, SlipText
from records import slip
from records.rules import Moment

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WalkinCredential:
    """What a verified slip says, shaped as the card credential the tap rules read."""

    learner_code: str
    card_id: str
    venue: str
    name: str | None = None
    staff: bool = False
    learner: int = 0  # a card's integer learner claim; a slip's learner is the temporary id
    group_names: list[str] = field(default_factory=list)


def read(text: str, docs: CountyDocuments, now_unix: int, own: Signer | None = None) -> WalkinCredential:
    """The slip's walk-in, or :class:`records.slip.SlipRefused` with its reason. ``own``: this
    kiosk's signer — its own slips verify with its own key even before a registry arrives."""
    data = slip.from_qr_text(text)
    registry = docs.registry()

    def key_for(kid: str) -> Any:
        if own is not None and kid == own.origin.kid:
            return own.key.public_key()
        if registry is None:  # no registry yet: no other kiosk's key is known here
            raise slip.SlipRefused("no registry", reason="slip-unknown-kiosk")
        return registry.kiosk_key_for(kid)

    found = slip.verify(data, docs.county_id, key_for, now_unix)
    return WalkinCredential(found.learner, hashlib.sha256(data).hexdigest()[:16], found.venue)


class SlipMaker:
    """Makes a walk-in's slip: signed by this kiosk, printed when a printer is set."""

    def __init__(self, signer: Signer, county_id: str, venue_name: str, days: int = slip.DEFAULT_DAYS,
                 printer: SlipPrinter | None = None) -> None:
        self.signer = signer
        self.county_id = county_id
        self.venue_name = venue_name
        self.days = days
        self.printer = printer

    def make(self, temp: str, now: Moment) -> dict[str, Any]:
        """``qr_text``, ``expires``, and ``printed`` (or the printer's ``printer_problem``)."""
        expires = now.wall + timedelta(days=self.days)
        made = slip.Slip(self.county_id, self.signer.origin.kid, temp, self.signer.origin.venue,
                         int(now.wall.timestamp()), int(expires.timestamp()))
        qr_text = slip.to_qr_text(slip.issue(made, self.signer.key))
        out: dict[str, Any] = {"qr_text": qr_text, "expires": expires.strftime("%Y-%m-%d"), "printed": False,
                               "printer_problem": None}
        if self.printer is not None:
            text = SlipText("临时学习凭条", temp, (self.venue_name, f"有效期至 {out['expires']}",
                                                     "签到签退时出示此码；办卡后作废"), qr_text)
            try:
                self.printer.print_slip(text)
                out["printed"] = True
            except PrinterUnavailable as err:  # the slip stays on screen until staff dismiss it
                log.warning("walk-in slip not printed: %s", err.code)
                out["printer_problem"] = {"code": err.code, "zh_CN": err.zh, "en": err.en}
        return out
