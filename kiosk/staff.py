"""Staff mode: a staff card and a PIN checked against the county's signed roster, with a
lockout after repeated wrong PINs and a lock after a minute without a staff action."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from kiosk.county_docs import CountyDocuments
from kiosk.errors import ControlError
from records.county import check_pin


@dataclass
class _Open:
    staff_id: str
    last_used: float


class StaffDesk:
    def __init__(self, docs: CountyDocuments, venue: str, *, attempts: int = 5,
                 lockout_seconds: int = 300, idle_seconds: int = 60) -> None:
        self.docs = docs
        self.venue = venue
        self.attempts = attempts
        self.lockout_seconds = lockout_seconds
        self.idle_seconds = idle_seconds
        self._failures: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}
        self._tokens: dict[str, _Open] = {}
        self._lock = threading.Lock()

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
        now = time.monotonic()
        with self._lock:
            until = self._locked_until.get(card_id, 0.0)
            if until > now:
                minutes = int((until - now) // 60) + 1
                raise ControlError(f"密码错误次数过多，已锁定，请 {minutes} 分钟后再试",
                                   f"too many wrong PINs: locked, try again in {minutes} min",
                                   code="locked-out")
        entry = self._entry_for_venue(self.docs.staff_entry(card_id))
        if not check_pin(pin, str(entry.get("pin_hash", ""))):
            with self._lock:
                failures = self._failures.get(card_id, 0) + 1
                self._failures[card_id] = failures
                left = self.attempts - failures
                if left <= 0:
                    self._locked_until[card_id] = now + self.lockout_seconds
                    self._failures[card_id] = 0
                    raise ControlError("密码错误次数过多，已锁定", "too many wrong PINs: staff card locked",
                                       code="locked-out")
            err = ControlError(f"密码不对，还可以再试 {left} 次", f"wrong PIN: {left} attempts left",
                               code="pin-wrong")
            err.attempts_left = left  # type: ignore[attr-defined]
            raise err
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._failures.pop(card_id, None)
            self._tokens[token] = _Open(str(entry["staff_id"]), now)
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
