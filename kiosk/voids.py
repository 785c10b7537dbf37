"""Staff void an attendance of today from the kiosk (staff card + PIN), with a reason from the
list: a ``correction`` record signed by this kiosk, naming the staff member. The original stays
in the journal as signed; the gateway applies the void (docs/corrections.md: a kiosk may void
an attendance record of its venue made the same day). Locally, a voided check-in is no longer
open and voided minutes no longer count on the resident's screen."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kiosk.clock import Clock
from kiosk.errors import ControlError
from kiosk.journal import Journal
from kiosk.signer import Signer
from kiosk.taps import mask_learner
from records.corrections import KIOSK_VOIDABLE, REASONS
from records.record import Record, parse_time, parse_unverified

STAFF_REASONS = [r for r in REASONS if r != "paired"]  # "paired" is the gateway's


class Voids:
    def __init__(self, journal: Journal, signer: Signer, clock: Clock) -> None:
        self.journal = journal
        self.signer = signer
        self.clock = clock

    def _today(self) -> tuple[list[Record], set[str]]:
        now = self.clock.now()
        start = datetime.fromisoformat(self.clock.local_day(now)).replace(tzinfo=self.clock.zone)
        tokens = self.journal.state.tokens_since((*KIOSK_VOIDABLE, "correction"), int(start.timestamp() * 1000))
        records = [parse_unverified(t) for t in tokens]
        voided = {r.data["target"] for r in records if r.type == "correction" and r.data["action"] == "void"}
        # a voided check-in took its check-out with it
        voided |= {r.id for r in records if r.type == "attendance.checkout" and r.data.get("checkin_id") in voided}
        day = self.clock.local_day(now)
        mine = [r for r in records if r.type in KIOSK_VOIDABLE
                and parse_time(r.event["time"]).astimezone(self.clock.zone).date().isoformat() == day]
        return mine, voided

    def reasons(self) -> list[dict[str, str]]:
        return [{"id": r, "zh_CN": REASONS[r][0], "en": REASONS[r][1]} for r in STAFF_REASONS]

    def today(self) -> dict[str, Any]:
        """Today's attendance records at this kiosk that staff may void, newest first."""
        records, voided = self._today()
        rows = [{"record_id": r.id, "type": r.type, "learner_masked": mask_learner(str(r.data["learner"])),
                 "time": parse_time(r.event["time"]).astimezone(self.clock.zone).strftime("%H:%M"),
                 "minutes": r.data.get("minutes_credited"), "voided": r.id in voided} for r in reversed(records)]
        return {"attendances": rows, "reasons": self.reasons()}

    def void(self, staff_id: str, args: dict[str, Any]) -> dict[str, Any]:
        record_id, reason = str(args.get("record_id") or ""), args.get("reason")
        if reason not in STAFF_REASONS:
            raise ControlError("请从列表中选择作废原因", "choose one of the reasons offered", code="bad-request")
        records, voided = self._today()
        target = next((r for r in records if r.id == record_id), None)
        if target is None:
            raise ControlError("只能作废本机今天的签到记录", "only today's attendance records of this kiosk can be "
                               "voided here; county IT corrects older ones", code="not-voidable")
        if target.id in voided:
            raise ControlError("这条记录已经作废", "this record is void already", code="already-void")
        data = {"target": target.id, "target_kiosk": target.kiosk, "action": "void", "reason": reason,
                "staff_id": staff_id}
        now = self.clock.now()
        ends = [r for r in records if r.type == "attendance.checkout" and r.data.get("checkin_id") == target.id]
        undone = [target, *ends]  # a voided check-in takes its check-out with it
        with self.journal.transaction() as tx:
            rec = tx.append(self.signer.maker("correction", data, now))
            for r in undone:
                moment = parse_time(r.event["time"]).astimezone(self.clock.zone)
                tx.state.undo_attendance(r.id, str(r.data["learner"]), moment.date().isoformat(), moment.year,
                                   int(r.data.get("minutes_credited") or 0), r.data.get("session_id") is None)
        return {"record_id": rec.id, "voided": [r.id for r in undone]}
