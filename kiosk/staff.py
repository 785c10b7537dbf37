"""Staff mode: a staff card and a PIN checked against the county's signed roster, with a
lockout after repeated wrong PINs and a lock after a minute without a staff action.

The roster's PIN hash mixes in a secret that only the staff card carries: a login needs the
card tapped (its secret is held in memory for ``tap_window_seconds``, never written down)
and the PIN. Wrong PINs and lock-outs are kept in the journal, so restarting the agent
does not clear them."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from kiosk.county_docs import CountyDocuments
from kiosk.errors import ControlError
from kiosk.journal import Journal
from records.card import Credential
from records.county import OLD_PIN_SCHEME, check_pin, pin_scheme


@dataclass
class _Open:
    staff_id: str
    last_used: float


class StaffDesk:
    def __init__(self, docs: CountyDocuments, venue: str, journal: Journal, *, attempts: int = 5,
                 lockout_seconds: int = 300, idle_seconds: int = 60, tap_window_seconds: int = 120) -> None:
        self.docs = docs
        self.venue = venue
        self.journal = journal
        self.attempts = attempts
        self.lockout_seconds = lockout_seconds
        self.idle_seconds = idle_seconds
        self.tap_window_seconds = tap_window_seconds
        self._secrets: dict[str, tuple[bytes, float]] = {}  # card id → (card secret, tapped at)
        self._tokens: dict[str, _Open] = {}
        self._lock = threading.Lock()

    def card_seen(self, cred: Credential) -> None:
        """A verified staff card was tapped: hold its secret for the PIN that follows."""
        if cred.staff_secret:
            with self._lock:
                self._secrets[cred.card_id] = (cred.staff_secret, time.monotonic())

    def _secret_of(self, card_id: str) -> bytes:
        with self._lock:
            held = self._secrets.get(card_id)
        if held is None or time.monotonic() - held[1] > self.tap_window_seconds:
            raise ControlError("请先刷工作人员卡，再输入密码", "tap your staff card first, then enter the PIN",
                               code="tap-card")
        return held[0]

    def _entry_for_venue(self, entry: dict[str, object] | None) -> dict[str, object]:
        if not self.docs.has_roster:
            raise ControlError("尚未收到工作人员名单，请联系县里", "no staff roster has reached this kiosk yet",
                               code="no-roster")
        if entry is None:
            raise ControlError("这张卡不在工作人员名单上", "this card is not on the staff roster", code="not-staff")
        venues = entry.get("venues") or []
        if isinstance(venues, list) and venues and self.venue not in venues and "*" not in venues:
            raise ControlError("您没有本场馆的操作权限", "you may not run sessions at this venue", code="not-staff")
        return entry

    def login(self, card_id: str, pin: str) -> dict[str, object]:
        now_ms = int(time.time() * 1000)  # wall time: the lock-out outlives a restart
        with self._lock:
            failures, until_ms = self.journal.pin_failures(card_id)
        if until_ms > now_ms:
            minutes = (until_ms - now_ms) // 60_000 + 1
            err = ControlError(f"密码错误次数过多，已锁定，请 {minutes} 分钟后再试",
                               f"too many wrong PINs: locked, try again in {minutes} min",
                               code="locked-out")
            err.retry_after = (until_ms - now_ms) // 1000 + 1  # type: ignore[attr-defined]  # the screen counts down
            raise err
        entry = self._entry_for_venue(self.docs.staff_entry(card_id))
        stored = str(entry.get("pin_hash", ""))
        if pin_scheme(stored) == OLD_PIN_SCHEME:
            raise ControlError("这张工作人员卡需要县里重新发放（旧的密码格式已停用）",
                               "this staff card's roster entry uses the old PIN form, no longer accepted: "
                               "county IT must re-issue the card (provision staff remove, then add)",
                               code="pin-old-form")
        secret = self._secret_of(card_id)
        if not check_pin(pin, secret, stored):
            failures += 1
            left = self.attempts - failures
            if left <= 0:
                self.journal.set_pin_failures(card_id, 0, now_ms + self.lockout_seconds * 1000)
                err = ControlError(f"密码错误次数过多，已锁定 {self.lockout_seconds // 60} 分钟",
                                   f"too many wrong PINs: locked for {self.lockout_seconds // 60} min",
                                   code="locked-out")
                err.retry_after = self.lockout_seconds  # type: ignore[attr-defined]
                raise err
            self.journal.set_pin_failures(card_id, failures, 0)
            err = ControlError(f"密码不对，还可以再试 {left} 次", f"wrong PIN: {left} attempts left",
                               code="pin-wrong")
            err.attempts_left = left  # type: ignore[attr-defined]
            raise err
        self.journal.set_pin_failures(card_id, 0, 0)
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._secrets.pop(card_id, None)
            self._tokens[token] = _Open(str(entry["staff_id"]), time.monotonic())
        return {"token": token, "staff_id": entry["staff_id"], "expires_in": self.idle_seconds}

    def logout(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)

    def authorize(self, token: str | None, staff_id: str | None) -> str:
        """The staff id behind a request: a live token, or (local CLI) a roster staff id."""
        if token:
            with self._lock:
                opened = self._tokens.get(token)
                if opened is not None and time.monotonic() - opened.last_used <= self.idle_seconds:
                    opened.last_used = time.monotonic()
                    return opened.staff_id
                self._tokens.pop(token, None)
            raise ControlError("工作人员模式已锁定，请重新刷卡登录", "staff mode is locked: tap your staff card again",
                               code="no-staff")
        if staff_id:
            entry = self._entry_for_venue(self.docs.staff_by_id(staff_id))
            return str(entry["staff_id"])
        raise ControlError("需要工作人员登录", "a staff login is needed", code="no-staff")

    def expire_idle(self) -> list[str]:
        """Drop tokens idle too long; returns the staff ids whose mode just locked."""
        now = time.monotonic()
        with self._lock:
            gone = [t for t, o in self._tokens.items() if now - o.last_used > self.idle_seconds]
            return [self._tokens.pop(t).staff_id for t in gone]

    def current(self) -> dict[str, object] | None:
        now = time.monotonic()
        with self._lock:
            live = [o for o in self._tokens.values() if now - o.last_used <= self.idle_seconds]
        if not live:
            return None
        newest = max(live, key=lambda o: o.last_used)
        return {"staff_id": newest.staff_id, "expires_in": int(self.idle_seconds - (now - newest.last_used))}
