"""One record message from a kiosk → verified, checked, stored, and the receipt to send.

Contract 1.1: only a record whose signature verifies with the kiosk's registered key takes a
chain position. Per message:

1. Every line is parsed (a line that is not a JWS with integer ``epoch``/``seq`` makes the
   whole message ``{"error": "malformed"}``). A position outside 1..2³¹−1 is *refused*.
2. Re-sent records are found by (kiosk, epoch, seq, hash) in one indexed query and settled
   again without checking their signature: a replay costs no verify.
3. The rest are verified: the ``kid`` names the topic's kiosk, the registry knows the key
   (else the county files are re-read once; still unknown → ``{"error": "unknown-kiosk"}``
   or ``unknown-key``, nothing settled: the kiosk keeps them and retries), the signature
   verifies. A line that fails is **refused**: kept in the ``refused`` table with the
   connection's identity (the topic's kiosk), counted in the receipt as ``"refused": n``,
   never settled, never listed in ``rejected``, and it takes no chain position.
4. A verified record is *rejected and recorded* (it takes its position, is settled and
   listed in ``rejected``) when its kiosk is revoked, its event is malformed, its body fails
   its JSON Schema, or the chain does not hold (``fork``, ``bad-epoch-link``,
   ``duplicate-id``). A verified record more than ``max_ahead`` positions past the chain's
   ``upto`` is refused (``seq-too-far``): the kiosk sends its outbox in order from the oldest
   unsettled record, so only a stolen key or a broken kiosk gets that far ahead.

A verified record whose ``prev`` is not the hash of the known record before it is refused
as ``fork`` too (a stolen key or a copied card signs it; the kiosk's own record always links):
it takes no position, and a record kept ahead of a gap that turns out not to link is moved
to ``refused`` when the chain reaches it, so it never stops the chain. Refused lines are kept
once per (kiosk, hash) and at most ``max_refused`` per kiosk (then counted, with one
``refused-overflow`` alert).

Refusal reasons (``refused.reason``): ``bad-signature``, ``wrong-kiosk``, ``bad-position``,
``seq-too-far``, ``fork``. Rejection reasons (the receipt's ``rejected[].reason``): ``revoked-kiosk``,
``malformed``, ``bad-schema``, ``fork``, ``bad-epoch-link``, ``duplicate-id``.
Whole-message errors (``{"error": …}``): ``too-large``, ``malformed``, ``empty``,
``unknown-kiosk``, ``unknown-key``. Nothing is acknowledged before the commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import fastjsonschema
import orjson

from gateway.county_files import CountyFiles
from gateway.plausibility import Plausibility, just_verified
from gateway.store import Chain, Store, Tx
from gateway.sun_check import SunCheck
from records import jws
from records.chain import missing_ranges
from records.errors import MalformedRecord, RecordError, UnknownKey
from records.record import Record, format_time, link_hash, parse_event, parse_time
from records.schemas import SCHEMAS

log = logging.getLogger(__name__)

MAX_PAYLOAD = 256 * 1024
CLOCK_TOLERANCE_S = 24 * 3600  # a record's time further than this from ours is flagged
MAX_POSITION = 2**31 - 1  # epochs and seqs are CloudEvents integers (32-bit, positive)
MAX_AHEAD = 10_000  # default bound on seq - upto for a verified record (gateway.max_seq_ahead)
MAX_REFUSED = 10_000  # refused lines kept per kiosk; beyond, they are counted, not kept
UNKNOWN = ("unknown-kiosk", "unknown-key")


@dataclass
class Outcome:
    """What one message did: receipts per epoch, records to republish, resends to ask."""

    kiosk: str
    receipts: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    verified: list[tuple[str, str]] = field(default_factory=list)  # (venue, token)
    checked: list[Record] = field(default_factory=list)  # stored by this message: for the plausibility review
    again: list[tuple[str, str]] = field(default_factory=list)  # stored before: republished, not re-checked
    resend: list[dict[str, int]] = field(default_factory=list)
    stored: int = 0
    duplicates: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    flagged: int = 0
    failure: BaseException | None = None  # the store failed this message: nothing of it is kept or answered


@dataclass
class _Line:
    compact: jws.Compact
    epoch: int
    seq: int
    event: dict[str, Any]  # parsed once, to group by epoch; trusted only after the signature verifies
    hash: str  # the chain link to this line (computed once: every line needs it)
    record: Record | None = None
    reason: str | None = None  # rejected: a verified record that takes its position, settled
    refusal: str | None = None  # refused: not the kiosk's record; takes no position
    unknown: str | None = None  # unknown-kiosk / unknown-key: the county's state, never final
    duplicate: bool = False  # stored or rejected already at this position with this hash

    @property
    def token(self) -> str:
        return self.compact.token

    @property
    def prev(self) -> str | None:
        """The link the signed event names (None when it names none that could match)."""
        prev = self.event.get("prev")
        return prev if isinstance(prev, str) else None


VALIDATORS = {name: fastjsonschema.compile(schema) for name, schema in SCHEMAS.items()}


class Ingest:
    def __init__(self, store: Store, county: CountyFiles, now: Callable[[], datetime],
                 sun_check: SunCheck | None = None, max_ahead: int = MAX_AHEAD,
                 max_refused: int = MAX_REFUSED, *, gap_grace: float = 0.0) -> None:
        self.store = store
        self.county = county
        self.now = now
        self.sun_check = sun_check  # NTAG 424 DNA anti-clone check (gateway/sun_check.py)
        self.max_ahead = max_ahead
        self.max_refused = max_refused
        self.plausibility = Plausibility(county.registry, lambda: county.document("staff"),
                                         rules=lambda: county.document("credit-rules"))
        self.gap_grace_ms = int(gap_grace * 1000)  # see _old_gaps

    def handle(self, kiosk: str, payload: bytes) -> Outcome:
        """One message from the topic of ``kiosk`` (the connection's identity). A store
        failure is raised (nothing of the message was kept)."""
        out = self.handle_many([(kiosk, payload)])[0]
        if out.failure is not None:
            raise out.failure
        return out

    def handle_many(self, messages: list[tuple[str, bytes]]) -> list[Outcome]:
        """Several messages, each from the topic of its kiosk, settled in one transaction
        (group commit: one commit, one fsync, for all of them); one Outcome each, in order.

        Each message is parsed and verified on its own, then settled inside its own savepoint:
        a message whose settling fails (``Outcome.failure``) is rolled back alone, and the
        others commit. A failed commit fails them all. Nothing is acknowledged here: the caller
        sends the receipts once this returns, after the commit that holds their records. A
        kiosk's messages are settled in the order given."""
        outs: list[Outcome] = []
        work: list[tuple[str, list[_Line], Outcome]] = []
        for kiosk, payload in messages:
            out = Outcome(kiosk)
            outs.append(out)
            try:
                lines = self._prepare(kiosk, payload, out)
            except Exception as err:  # the store, asked for known positions  # noqa: BLE001
                out.failure = err
                continue
            if lines is not None:
                work.append((kiosk, lines, out))
        if work:
            self._settle_all(work)
        return outs

    def _prepare(self, kiosk: str, payload: bytes, out: Outcome) -> list[_Line] | None:
        """Parse, find re-sent records, verify the rest; None when the message is answered
        with an error (``out.error``) and settles nothing."""
        if len(payload) > MAX_PAYLOAD:
            out.error = "too-large"
            return None
        lines = self._split(payload, out)
        if lines is None:
            return None
        known = self.store.known_positions(kiosk, [(x.epoch, x.seq, x.hash) for x in lines if x.refusal is None])
        for line in lines:
            position = (line.epoch, line.seq, line.hash)
            if position in known:
                line.duplicate = True  # re-sent unchanged: settled again, its signature not checked again
                line.reason = known[position] or None  # a rejected one is listed as rejected again
        return lines if self._check(kiosk, lines, out) else None

    def replay(self, kiosk: str, tokens: list[str]) -> Outcome:
        """Ingest rejected records of ``kiosk`` again, through the same checks, once their cause
        is fixed (a registry reloaded, a key registered). Their rejected rows are removed in the
        same transaction: each ends stored, rejected again (perhaps for another reason), or
        refused."""
        out = Outcome(kiosk)
        lines = self._split("\n".join(tokens).encode("ascii"), out)
        if lines is None or not self._check(kiosk, lines, out):
            return out
        self._settle_all([(kiosk, lines, out)], clear_rejected=True)
        if out.failure is not None:
            raise out.failure
        return out

    def _check(self, kiosk: str, lines: list[_Line], out: Outcome) -> bool:
        """Verify the lines not known already; False (``out.error``) while a key is unknown."""
        checking = [x for x in lines if not x.duplicate and x.refusal is None]
        memo: dict[str, Any] = {}
        for line in checking:
            self._verify(kiosk, line, memo)
        unknown = [x for x in checking if x.unknown is not None]
        if unknown:
            self.county.reread()  # enrolled a minute ago? read the county's files once
            memo.clear()
            for line in unknown:
                line.unknown = None
                self._verify(kiosk, line, memo)
            unknown = [x for x in unknown if x.unknown is not None]
        if unknown:
            out.error = unknown[0].unknown
            log.warning("kiosk %s sent %d records with %s %s: nothing settled, the kiosk keeps them",
                        kiosk, len(unknown), out.error, unknown[0].compact.kid)
            return False
        return True

    def _settle_all(self, work: list[tuple[str, list[_Line], Outcome]], *, clear_rejected: bool = False) -> None:
        """Settle each message of ``work`` in one transaction; a message that fails is rolled
        back to its savepoint and marked (``Outcome.failure``), the others commit together."""
        received_ms = int(time.time() * 1000)
        alone = len(work) == 1
        try:
            with self.store.tx() as tx:
                # PostgreSQL: every kiosk's lock at once, in one order for all processes (no deadlock)
                tx.lock_kiosks(sorted({kiosk for kiosk, _, _ in work}))
                for kiosk, lines, out in work:
                    if alone:
                        self._settle(tx, kiosk, lines, out, received_ms, clear_rejected)
                        continue
                    tx.execute("SAVEPOINT message")
                    try:
                        self._settle(tx, kiosk, lines, out, received_ms, clear_rejected)
                    except Exception as err:  # this message only: the others' records stay  # noqa: BLE001
                        tx.execute("ROLLBACK TO SAVEPOINT message")
                        out.failure = err
                        log.exception("a message of kiosk %s could not be settled; it will be re-sent", kiosk)
                    tx.execute("RELEASE SAVEPOINT message")
                for kiosk in dict.fromkeys(out.kiosk for _, _, out in work if out.stored and out.failure is None):
                    tx.touch_kiosk(kiosk)
        except Exception as err:  # noqa: BLE001 - BEGIN or COMMIT failed: nothing of the group is kept
            for _, _, out in work:
                if out.failure is None:
                    out.failure = err

    def _settle(self, tx: Tx, kiosk: str, lines: list[_Line], out: Outcome, received_ms: int,
                clear_rejected: bool) -> None:
        by_epoch: dict[int, list[_Line]] = {}
        for line in sorted(lines, key=lambda x: (x.epoch, x.seq)):
            if line.refusal == "bad-position":
                self._refuse(tx, kiosk, line, out, self.max_refused)  # no epoch to answer for
                continue
            by_epoch.setdefault(line.epoch, []).append(line)
        for epoch, group in by_epoch.items():
            if clear_rejected:
                for line in group:
                    tx.delete_rejected(kiosk, epoch, line.seq)
            out.receipts.append(self._epoch(tx, kiosk, epoch, group, out, received_ms))
        out.verified = [(rec.event["venue"], rec.token)  # implausible: held
                        for rec in self.plausibility.review(tx, kiosk, out.checked)]
        # a record stored before was checked then: checking it again would count its minutes
        # twice (or hold it under rules published since); one held or void stays unpublished
        out.verified += [(venue, token) for venue, token in out.again
                         if not tx.not_in_use(just_verified(token).id)]

    # --- parsing and verifying (outside the transaction) --------------------------------

    @staticmethod
    def _split(payload: bytes, out: Outcome) -> list[_Line] | None:
        try:
            text = payload.decode("ascii")
        except UnicodeDecodeError:
            out.error = "malformed"
            return None
        lines = []
        for raw in text.split("\n"):
            raw = raw.strip()
            if not raw:
                continue
            try:
                compact = jws.parse(raw)
                event = orjson.loads(compact.payload)
                epoch, seq = event["epoch"], event["seq"]
                if not (isinstance(epoch, int) and isinstance(seq, int)) or isinstance(epoch, bool) \
                        or isinstance(seq, bool):
                    raise ValueError("epoch/seq")
            except (RecordError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                out.error = "malformed"  # no position to settle it at: the whole message is refused
                return None
            line = _Line(compact, epoch, seq, event, link_hash(raw))
            if not (1 <= epoch <= MAX_POSITION and 1 <= seq <= MAX_POSITION):
                line.refusal = "bad-position"  # never a record (32-bit CloudEvents integers)
            lines.append(line)
        if not lines:
            out.error = "empty"
            return None
        return lines

    def _verify(self, kiosk: str, line: _Line, memo: dict[str, Any]) -> None:
        """``memo``: the registry's answers for this message (its lines share a kid), kept
        only while the registry in force does not change."""
        compact = line.compact
        kid = compact.kid
        if kid.split("/", 1)[0] != kiosk:
            line.refusal = "wrong-kiosk"
            return
        registry = self.county.registry()
        if memo.get("registry") is not registry:
            memo.update(registry=registry, active=registry.is_active(kiosk), keys={})
        keys = memo["keys"]
        found = keys.get(kid)
        if found is None:
            try:
                found = (registry.registered_key(kid), None)
            except UnknownKey as err:
                found = (None, err.reason)
            except RecordError:  # a registry entry whose key does not parse: not the record's fault
                found = (None, "unknown-key")
            keys[kid] = found
        key, unknown = found
        if key is None:
            line.unknown = unknown
            return
        try:
            jws.verify(compact, key)
        except RecordError:
            line.refusal = "bad-signature"
            return
        # verified: from here on it is the kiosk's own record and takes its position
        if not memo["active"]:
            line.reason = "revoked-kiosk"
            return
        try:
            event = parse_event(compact.payload, compact.kid, parsed=line.event)
        except MalformedRecord:
            line.reason = "malformed"
            return
        except RecordError as err:
            line.reason = err.reason
            return
        record = Record(compact.token, event, compact.kid)
        try:
            VALIDATORS[record.type](record.data)
        except fastjsonschema.JsonSchemaException as err:
            log.warning("record %s of %s fails its schema: %s", record.id, kiosk, err.message)
            line.reason = "bad-schema"
            return
        line.record = record

    @staticmethod
    def _refuse(tx: Tx, kiosk: str, line: _Line, out: Outcome, cap: int) -> None:
        """Keep a refused line apart, once per (kiosk, hash) and at most ``cap`` per kiosk (a
        certificate thief's flood must not fill the store's disk); always counted."""
        reason = line.refusal or "bad-signature"
        epoch = line.epoch if 0 <= line.epoch <= MAX_POSITION else 0  # kept as bytes; the number may not fit
        seq = line.seq if 0 <= line.seq <= MAX_POSITION else 0
        kept = tx.insert_refused(kiosk, epoch, seq, line.hash, line.token, reason, cap)
        out.refused[reason] = out.refused.get(reason, 0) + 1
        if kept == "full" and not tx.has_alert(kiosk, "refused-overflow"):
            tx.alert(kiosk, "refused-overflow", f"{cap} refused lines kept; further ones are counted, not kept")
        if kept == "kept":
            log.warning("refused a line on kiosk %s's topic at %s/%s: %s", kiosk, line.epoch, line.seq, reason)

    # --- the chain (inside the transaction) -------------------------------------------------

    def _epoch(self, tx: Tx, kiosk: str, epoch: int, group: list[_Line], out: Outcome,
               received_ms: int) -> dict[str, Any]:
        chain = tx.chain(kiosk, epoch)
        now = self.now()  # once per message: a record's time is compared with it
        rejected: list[dict[str, Any]] = []
        refused = 0
        taken = tx.ids_taken([line.record.id for line in group if line.record is not None])
        here: dict[int, tuple[str, str, str]] = {}  # seq → (token, hash, prev) accepted from this group
        rows: list[tuple[Any, ...]] = []  # inserted together before the chain advances
        changed = False
        answered = any(line.duplicate for line in group)
        # what is stored at and just below this group's positions, up to max_seen (nothing is above)
        seqs = [line.seq for line in group]
        stored = tx.stored_between(kiosk, epoch, min(seqs) - 1, min(max(seqs), chain.max_seen))
        reach = chain.upto  # upto as it will be once this group's contiguous records are in
        for line in group:
            if line.seq == reach + 1 and (line.duplicate or line.refusal is None):
                reach = line.seq
            if line.duplicate:
                out.duplicates += 1  # stored once, settled again
                if line.reason is not None:  # its first receipt may have been lost: say it again
                    rejected.append({"seq": line.seq, "reason": line.reason})
                else:
                    # stored (the same bytes, verified then): republished, since the process that
                    # stored it may have died before it published (the stream is at least once;
                    # consumers keep each record id once)
                    out.again.append((str(line.event.get("venue", "")), line.token))
                continue
            if line.refusal is None and line.seq > reach + self.max_ahead:
                line.refusal = "seq-too-far"
            existing = None
            if line.refusal is None and line.seq <= chain.max_seen:
                existing = here.get(line.seq) or stored.get(line.seq)
            if line.refusal is None and line.seq > 1 and (existing is None or existing[0] != line.token):
                before = self._before(chain, line.seq, here, stored)
                if before is not None and before != line.prev:
                    # signed with the kiosk's key, but not the next link of its chain (a stolen
                    # key, a copied card): it takes no position, so the kiosk's own record can
                    line.refusal = "fork"
                    tx.alert(kiosk, "fork", f"epoch {epoch} seq {line.seq}: a signed record that does not "
                                            "link to the chain (the kiosk's key may be stolen)")
                elif before is not None and existing is not None and existing[2] and existing[2] != before:
                    # the record holding this position does not link either: this one does
                    tx.unseat(kiosk, epoch, line.seq, "fork")
                    stored.pop(line.seq, None)
                    tx.alert(kiosk, "fork", f"epoch {epoch} seq {line.seq}: a record that did not link "
                                            "gave its position to one that does")
                    existing = None
            if line.refusal is not None:
                self._refuse(tx, kiosk, line, out, self.max_refused)
                refused += 1
                continue
            changed = True
            if existing is not None:
                if existing[0] == line.token:
                    out.duplicates += 1
                    continue
                if line.reason is None:
                    tx.alert(kiosk, "fork", f"epoch {epoch} seq {line.seq}: two different records signed")
                    line.reason = "fork"
            if line.reason is None:
                line.reason = self._link_problem(tx, chain, line, here, stored)
            if line.reason is None and line.record is not None and line.record.id in taken:
                line.reason = "duplicate-id"
            if line.reason is not None:
                rejected.append({"seq": line.seq, "reason": line.reason})
                out.rejected[line.reason] = out.rejected.get(line.reason, 0) + 1
                if existing is None:
                    tx.insert_rejected(kiosk, epoch, line.seq, line.hash, line.token, line.reason, line.prev or "")
                    stored[line.seq] = (line.token, line.hash, line.prev or "")  # as the store now holds
                    chain.max_seen = max(chain.max_seen, line.seq)
                continue
            rec = line.record
            assert rec is not None
            flags = self._clock_flags(chain, rec, now)
            if self.sun_check is not None:
                flags = ",".join(f for f in (flags, self.sun_check.flag(tx, kiosk, rec)) if f)
            out.flagged += bool(flags)
            rows.append((kiosk, epoch, line.seq, rec.id, rec.type, rec.event["venue"], rec.event["time"],
                         line.hash, rec.prev, rec.token, flags, received_ms))
            here[line.seq] = (rec.token, line.hash, rec.prev)
            taken.add(rec.id)
            out.stored += 1
            out.checked.append(rec)
            chain.max_seen = max(chain.max_seen, line.seq)
            if line.seq == chain.upto + 1:
                self._remember_last(chain, rec)
        if changed:
            tx.insert_records(rows)
            self._advance(tx, chain)
            tx.save_chain(chain)
        missing = self._old_gaps(tx, chain, received_ms) if chain.max_seen > chain.upto else []
        if not (changed or answered):
            missing = []  # a message of refused lines only asks for nothing again
        for lo, hi in missing:
            out.resend.append({"epoch": epoch, "from": lo, "to": hi})
        receipt = {"epoch": epoch, "upto": chain.upto, "head": chain.head,
                   "missing": [[lo, hi] for lo, hi in missing], "rejected": rejected,
                   "time": format_time(now)}
        if refused:
            receipt["refused"] = refused
        return receipt

    def _old_gaps(self, tx: Tx, chain: Chain, now_ms: int) -> list[tuple[int, int]]:
        """The holes below ``max_seen`` that are older than the grace.

        With several gateway processes on a round-robin shared subscription a kiosk's
        consecutive messages go to different processes, so a hole may only be a message in
        flight at another process: asking for it would make the kiosk send again what is
        about to be stored (the resend storm). A hole counts as missing only once the
        earliest record stored above it has been in the store longer than ``gap_grace``.
        """
        present = tx.present_between(chain.kiosk, chain.epoch, chain.upto + 1, chain.max_seen)
        gaps = missing_ranges(set(present), chain.max_seen, chain.upto + 1)
        if not self.gap_grace_ms:
            return gaps
        old = []
        for lo, hi in gaps:
            since = min((ms for seq, ms in present.items() if seq > hi), default=now_ms)
            if now_ms - since >= self.gap_grace_ms:
                old.append((lo, hi))
        return old

    @staticmethod
    def _link_problem(tx: Tx, chain: Chain, line: _Line, here: dict[int, tuple[str, str, str]],
                      stored: dict[int, tuple[str, str, str]]) -> str | None:
        rec = line.record
        assert rec is not None
        if line.seq == 1:
            if rec.prev == "":
                # a kiosk that lost its storage starts a fresh epoch from nothing: accepted, and
                # county IT hears of it when the gateway held records of the kiosk before
                if tx.has_other_epochs(chain.kiosk, chain.epoch):
                    tx.alert(chain.kiosk, "fresh-start",
                             f"epoch {chain.epoch} starts from nothing: the kiosk lost its journal")
                return None
            # a new epoch (after a quarantine) links to a receipt's head the kiosk held
            return None if tx.knows_hash(chain.kiosk, chain.epoch, rec.prev) else "bad-epoch-link"
        if line.seq - 1 == chain.upto:
            return None if rec.prev == chain.head else "fork"
        before = here.get(line.seq - 1) or stored.get(line.seq - 1)
        if before is not None and before[1] != rec.prev:
            return "fork"
        return None  # the record before is not here yet: its link is checked when the chain advances

    @staticmethod
    def _before(chain: Chain, seq: int, here: dict[int, tuple[str, str, str]],
                stored: dict[int, tuple[str, str, str]]) -> str | None:
        """The hash a record at ``seq`` must link to, when the record before it is known."""
        if seq - 1 == chain.upto:
            return chain.head
        before = here.get(seq - 1) or stored.get(seq - 1)
        return None if before is None else before[1]

    @staticmethod
    def _remember_last(chain: Chain, rec: Record) -> None:
        chain.last_time, chain.last_mono, chain.last_bootid = (
            rec.event["time"], rec.event["mono"], rec.event["bootid"])

    @staticmethod
    def _clock_flags(chain: Chain, rec: Record, now: datetime) -> str:
        flags = []
        moment = parse_time(rec.event["time"])
        if abs((moment - now).total_seconds()) > CLOCK_TOLERANCE_S:
            flags.append("clock-far")
        if (chain.last_bootid == rec.event["bootid"] and chain.last_time
                and int(rec.event["mono"]) > int(chain.last_mono or 0)
                and moment < parse_time(chain.last_time)):
            flags.append("clock-backwards")
        return ",".join(flags)

    @staticmethod
    def _advance(tx: Tx, chain: Chain) -> None:
        if chain.max_seen <= chain.upto:
            return
        for seq, hash_, prev in tx.following(chain.kiosk, chain.epoch, chain.upto, chain.max_seen):
            if seq != chain.upto + 1:
                break
            if prev and prev != chain.head and chain.upto > 0:
                # kept ahead of a gap, and now known not to link: it gives the position back (the
                # kiosk is asked for its own record there) instead of stopping the chain for good
                tx.unseat(chain.kiosk, chain.epoch, seq, "fork")
                tx.alert(chain.kiosk, "fork", f"epoch {chain.epoch} seq {seq} does not link to {chain.upto}; "
                                              "moved to the refused lines")
                break
            chain.upto, chain.head = seq, hash_
