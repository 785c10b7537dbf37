"""The kiosk agent: card reads → rules → signed record → journal → the answer.

One lock serializes everything that writes the journal, so the chain is made in one
order whatever thread a read or a request comes from. Events for screens go to every
listener (the control socket's connections) after the commit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kiosk.clock import Clock
from kiosk.consents import Consents
from kiosk.county_docs import CountyDocuments
from kiosk.errors import ControlError, KioskError
from kiosk.journal import Journal
from kiosk.reader.base import CardRead, Reader
from kiosk.registration import Registrations
from kiosk.sessions import VenueOps
from kiosk.signer import Signer
from kiosk.staff import StaffDesk
from kiosk.taps import TapRules, Taps
from kiosk.venue_share import VenueShare
from kiosk.voids import Voids
from records.consent import Notice

log = logging.getLogger(__name__)

VERSION = "0.1.0"
Listener = Callable[[dict[str, Any]], None]


class Agent:
    def __init__(self, *, journal: Journal, signer: Signer, docs: CountyDocuments, clock: Clock,
                 rules: TapRules, staff: StaffDesk, venue_name: str = "", language: str = "zh_CN",
                 checkpoint_seconds: int = 900, notice: Notice) -> None:
        self.journal = journal
        self.signer = signer
        self.docs = docs
        self.clock = clock
        self.taps = Taps(journal, signer, docs, clock, rules)
        self.venue = VenueOps(self.taps, signer.origin.venue)
        self.registrations = Registrations(self.taps, signer.origin.venue)
        self.venue.registrations = self.taps.registrations = self.registrations
        self.voids = Voids(journal, signer, clock)
        self.share = VenueShare(docs, signer.origin.kiosk, signer.origin.venue, online=lambda: self.online)
        self.taps.share = self.share
        self.consents = Consents(notice, signer, journal)  # the county's privacy notice ([privacy])
        self.venue.consents = self.registrations.consents = self.consents
        self.staff = staff
        self.taps.on_staff_card = staff.card_seen  # the card's PIN secret, held in memory only
        self.venue_name = venue_name
        self.language = language
        self.checkpoint_seconds = checkpoint_seconds
        self.online = False
        self.alarms: dict[str, dict[str, Any]] = {}  # from the uplink: receipt-mismatch, gateway-hold, refused
        self.readers: dict[str, dict[str, str]] = {}
        self.lock = threading.RLock()
        self._listeners: list[Listener] = []
        self.uplink_problem: dict[str, str] | None = None  # set by the uplink: why it cannot connect
        self.certificate_warning: dict[str, str] | None = None  # the TLS certificate ends within 60 days
        self.after_commit: list[Callable[[], None]] = []  # e.g. wake the uplink: a new record waits
        self._listeners_lock = threading.Lock()
        self._last_checkpoint = time.monotonic()

    # --- listeners (screens) ----------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        with self._listeners_lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self._listeners_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def emit(self, message: dict[str, Any]) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener({"v": 1, **message})
            except Exception:  # a broken screen must never stop the agent  # noqa: BLE001
                log.warning("a control-socket listener failed", exc_info=True)
                self.remove_listener(listener)

    def emit_state(self) -> None:
        if self._listeners:  # a snapshot costs queries: only for someone who listens
            self.emit({"event": "state", "state": self.snapshot()})

    # --- card reads ----------------------------------------------------------------------

    def on_read(self, read: CardRead) -> dict[str, Any]:
        """Handle one read from any reader; the result is sent only after the commit."""
        with self.lock:
            try:
                self.venue.catch_up()  # whatever fell due first: a tap never closes yesterday's check-in
                result = self.taps.handle(read)
            except KioskError as err:
                log.error("a tap could not be recorded: %s", err)
                result = {"outcome": "refused", "reason": err.code, "message": err.message(),
                          "advice": {"zh_CN": "请联系管理员", "en": "Please call the administrator"}}
        self._committed()
        self.emit({"event": "tap.result", "result": result})
        self.emit_state()
        return result

    def answer(self, args: dict[str, Any]) -> dict[str, Any]:
        """The resident's answer to an ``ask`` tap result: ``direction`` ``in`` or ``out``."""
        direction = args.get("direction")
        if direction not in ("in", "out"):
            raise ControlError("请选择签到或签退", "direction must be in or out", code="bad-request")
        with self.lock:
            result = self.taps.answer(str(args.get("ask") or ""), str(direction))
        self._committed()
        self.emit({"event": "tap.result", "result": result})
        self.emit_state()
        return result

    def _committed(self) -> None:
        for wake in self.after_commit:
            wake()

    def reader_status(self, name: str, state: str, detail: str) -> None:
        self.readers[name] = {"state": state, "detail": detail}
        log.info("reader %s: %s %s", name, state, detail)
        self.emit_state()

    def run_reader(self, reader: Reader, stop: threading.Event) -> threading.Thread:
        def target() -> None:
            try:
                reader.run(self.on_read, self.reader_status, stop)
            except Exception as err:  # a reader's failure must show, not kill the agent  # noqa: BLE001
                log.exception("reader %s stopped", reader.name)
                self.reader_status(reader.name, "error", str(err))

        thread = threading.Thread(target=target, name=f"reader-{reader.name}", daemon=True)
        thread.start()
        return thread

    # --- the uplink's hooks -------------------------------------------------------------

    def set_uplink_state(self, online: bool) -> None:
        if online != self.online:
            self.online = online
            self.emit_state()

    def set_clock_from_gateway(self, gateway_time: str, rtt_s: float) -> None:
        self.clock.set_from_gateway(gateway_time, rtt_s)

    def set_uplink_problem(self, problem: dict[str, str] | None) -> None:
        """Why the uplink cannot connect (e.g. a TLS failure and its cause), or None once it can."""
        if problem != self.uplink_problem:
            self.uplink_problem = problem
            self.emit_state()

    def set_certificate_warning(self, warning: tuple[str, str] | None) -> None:
        """(zh_CN, en) when the kiosk's TLS certificate ends soon or has ended, else None."""
        value = None if warning is None else {"zh_CN": warning[0], "en": warning[1]}
        if value != self.certificate_warning:
            self.certificate_warning = value
            self.emit_state()

    def set_uplink_alarm(self, kind: str, detail: dict[str, Any] | None) -> None:
        if detail is None:
            self.alarms.pop(kind, None)
        else:
            self.alarms[kind] = detail
        self.emit_state()

    def venue_payload(self) -> bytes:
        """What this kiosk tells its venue's other kiosks (kiosk/venue_share.py)."""
        with self.lock:
            return self.share.payload(self.journal.state)

    def update_venue_peer(self, peer: str, payload: bytes) -> None:
        """Another kiosk of the venue spoke: remember its open check-ins; drop ours it closed."""
        closed = self.share.take(peer, payload)
        if not closed:
            return
        with self.lock, self.journal.transaction(new_records=False) as tx:
            for checkin_id in closed:
                tx.state.drop_open_checkin_record(checkin_id)
        self.emit_state()

    def update_county_document(self, kind: str, token: str) -> bool:
        changed = self.docs.update(kind, token)
        if changed and kind not in ("revoked-cards-page", "registry-page"):  # by the thousand: no screen update
            self.emit_state()
        return changed

    def county_pages_complete(self, kind: str) -> bool:
        return self.docs.complete(kind)

    # --- periodic work --------------------------------------------------------------------

    def tick(self) -> None:
        """Called about once a second: the timetable (open, close, expire), staff idle lock,
        checkpoint records."""
        self.catch_up()
        for staff_id in self.staff.expire_idle():
            log.info("staff mode of %s locked after idle time", staff_id)
            self.emit({"event": "staff.locked", "reason": "idle"})
            self.emit_state()
        if time.monotonic() - self._last_checkpoint >= self.checkpoint_seconds:
            self.checkpoint()

    def catch_up(self) -> None:
        """Carry out what the timetable says is due (also at start: after a restart or a power
        cut, everything that fell due while the agent was off)."""
        with self.lock:
            try:
                done = self.venue.catch_up()
            except KioskError as err:
                log.error("the timetable's due work could not be recorded: %s", err)
                return
        if done:
            log.info("timetable: %d sessions opened, closed or check-ins expired", done)
            self._committed()
            self.emit_state()

    def checkpoint(self) -> None:
        if self.signer.refusal is not None:
            return  # no record can be made; the refusal is in the status already
        with self.lock:
            stats = self.journal.stats()
            try:
                self.journal.append(self.signer.maker(
                    "kiosk.checkpoint", {"pending": stats.pending, "journal_bytes": stats.bytes}))
            except KioskError as err:
                log.error("checkpoint not recorded: %s", err)
            self._last_checkpoint = time.monotonic()

    # --- state for screens ------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            stats = self.journal.stats()
            sessions = [s for s in self.venue.list_sessions()["sessions"] if not s["closed"]]
        oldest = None
        if stats.oldest_pending_ms is not None:
            oldest = max(0, int(time.time() - stats.oldest_pending_ms / 1000))
        origin = self.signer.origin
        return {
            "kiosk": origin.kiosk, "venue": origin.venue, "venue_name": self.venue_name,
            "language": self.language, "sessions": sessions,
            "health": {"online": self.online, "pending": stats.pending, "oldest_pending_seconds": oldest,
                       "readers": dict(self.readers), "clock": self.clock.state,
                       "time": self.clock.now().wall.isoformat(timespec="milliseconds"),
                       "uplink_problem": self.uplink_problem, "certificate": self.certificate_warning,
                       "journal_bytes": stats.bytes, "journal_full": stats.full,
                       "rejected": stats.rejected, "epoch": stats.epoch, "seq": stats.seq,
                       "alarms": dict(self.alarms),
                       "identity": None if self.signer.refusal is None else {
                           "code": self.signer.refusal.code, "message": self.signer.refusal.message()},
                       "revocation_version": self.docs.version("revoked-cards"),
                       "staff_roster_version": self.docs.version("staff"),
                       "programme_version": self.docs.version("programme"),
                       "credit_rules_version": self.docs.version("credit-rules"),
                       # pages an index names that this kiosk lacks (a revoked card on one is
                       # still refused if the whole list held names it; see kiosk/county_docs.py)
                       "county_pages_missing": {k: len(v) for k, v in self.docs.missing_pages().items()},
                       "audio": getattr(self, "ui_audio", None)},
            "staff": self.staff.current(),
        }

    # --- requests from the control socket ---------------------------------------------------

    def request(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        """Run one control-socket op; raises KioskError (ControlError) with a code."""
        handler = OPS.get(op)
        if handler is None:
            raise ControlError("未知操作", f"unknown op {op!r}", code="unknown-op")
        with self.lock:
            result = handler(self, args)
        self._committed()
        if op not in ("state", "tap", "figures", "roster", "session.list", "register.courses", "ui.audio",
                      "privacy.notice"):
            self.emit_state()
        return result

    def _staff_id(self, args: dict[str, Any]) -> str:
        return self.staff.authorize(args.get("token"), args.get("staff_id"))


def _tap(agent: Agent, args: dict[str, Any]) -> dict[str, Any]:
    import base64

    how = args.get("how", "qr")
    if how not in ("qr", "nfc"):
        raise ControlError("读卡方式不对", "how must be qr or nfc", code="bad-request")
    ndef = None
    if how == "nfc":
        try:
            ndef = base64.b64decode(str(args.get("ndef", "")), validate=True)
        except ValueError as err:
            raise ControlError("数据格式不对", "ndef must be base64", code="bad-request") from err
    read = CardRead(how=how, reader="simulated", text=args.get("text"), ndef=ndef)
    # the lock is re-entrant: on_read takes it again and emits after the commit
    return agent.on_read(read)


def _language(agent: Agent, args: dict[str, Any]) -> dict[str, Any]:
    if args.get("language") not in ("zh_CN", "en"):
        raise ControlError("语言不对", "language is zh_CN or en", code="bad-request")
    agent.language = str(args["language"])
    return agent.snapshot()


def _login(agent: Agent, args: dict[str, Any]) -> dict[str, Any]:
    return agent.staff.login(str(args.get("card_id", "")), str(args.get("pin", "")))


def _logout(agent: Agent, args: dict[str, Any]) -> dict[str, Any]:
    agent.staff.logout(str(args.get("token", "")))
    return {}


def _advance(agent: Agent, args: dict[str, Any]) -> dict[str, Any]:
    """Test hook: move a driven clock on (``[kiosk] driven_clock``), then do what fell due."""
    advance = getattr(agent.clock, "advance", None)
    seconds = args.get("seconds")
    if advance is None:
        raise ControlError("此签到机的时钟不可调", "this kiosk's clock is not driven", code="unknown-op")
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not 0 <= seconds <= 7 * 86400:
        raise ControlError("秒数不对", "seconds is a whole number 0..604800", code="bad-request")
    advance(seconds)
    agent.catch_up()
    return {"now": agent.clock.now().wall.isoformat()}


def _close(agent: Agent, args: dict[str, Any]) -> dict[str, Any]:
    staff_id = agent._staff_id(args)
    return agent.venue.close_session(staff_id, str(args.get("session_id", "")))


def _ui_audio(agent: Agent, args: dict[str, Any]) -> dict[str, Any]:
    """The touchscreen reports its sound health (device present, last playback) for `status`."""
    keys = ("enabled", "device", "last_ok", "last_error", "last_at", "played", "volume", "rate")
    agent.ui_audio = {k: args.get(k) for k in keys} | {"reported": int(time.time())}
    return {}


OPS: dict[str, Callable[[Agent, dict[str, Any]], dict[str, Any]]] = {
    "state": lambda agent, args: agent.snapshot(),
    "tap": _tap,
    "tap.answer": lambda agent, args: agent.answer(args),
    "rate": lambda agent, args: agent.venue.rate(args),
    "language": _language,
    "staff.login": _login,
    "staff.logout": _logout,
    "session.open": lambda agent, args: agent.venue.open_session(agent._staff_id(args), args),
    "session.close": _close,
    "session.list": lambda agent, args: agent.venue.list_sessions(),
    "programme.today": lambda agent, args: (agent._staff_id(args), agent.venue.today())[1],
    "manual.choices": lambda agent, args: (agent._staff_id(args), agent.venue.manual_choices(args))[1],
    "clock.advance": _advance,
    "register.courses": lambda agent, args: agent.registrations.courses(),
    "register.arm": lambda agent, args: agent.registrations.arm(args),
    "register.disarm": lambda agent, args: agent.registrations.disarm(),
    "register.consent": lambda agent, args: agent.registrations.consent(args),
    "privacy.notice": lambda agent, args: agent.consents.shown(),
    "consent.withdraw": lambda agent, args: agent.consents.withdraw(agent._staff_id(args), args, agent.clock.now()),
    "roster": lambda agent, args: (agent._staff_id(args), agent.venue.roster(str(args.get("session_id"))))[1],
    "attendance.manual": lambda agent, args: agent.venue.manual(agent._staff_id(args), args),
    "walkin.enroll": lambda agent, args: agent.venue.walkin(agent._staff_id(args), args),
    "attendance.today": lambda agent, args: (agent._staff_id(args), agent.voids.today())[1],
    "attendance.void": lambda agent, args: agent.voids.void(agent._staff_id(args), args),
    "figures": lambda agent, args: (agent._staff_id(args), agent.venue.figures())[1],
    "ui.audio": _ui_audio,
}
