"""Making signed records on this kiosk: who (origin), when (the clock), with which key."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.clock import Clock
from kiosk.errors import KeyFileError, KioskError
from kiosk.journal import Make
from records import keys, record
from records.errors import MalformedError
from records.ids import uuid7
from records.rules import Moment


class Signer:
    def __init__(self, key: Ed25519PrivateKey, origin: record.Origin, clock: Clock,
                 refusal: KioskError | None = None) -> None:
        self.key = key
        self.origin = origin
        self.clock = clock
        self.refusal = refusal  # why this kiosk must sign nothing (kiosk.identity), or None

    def maker(self, record_type: str, data: dict[str, Any], at: Moment | None = None) -> Make:
        """A function the journal calls with the chain position to build and sign.

        Raises the signer's refusal (a key that is not the enrolled one): no record is made."""
        if self.refusal is not None:
            raise self.refusal
        moment = at or self.clock.now()
        clock_state = self.clock.state

        def make(epoch: int, seq: int, prev: str) -> record.Record:
            event = record.build(
                origin=self.origin, record_type=record_type, data=data,
                record_id=uuid7(int(moment.wall.timestamp() * 1000), os.urandom(10)),
                time=moment.wall, mono_ns=moment.mono_ns, clock=clock_state,
                epoch=epoch, seq=seq, prev=prev,
            )
            return record.sign(event, self.key, self.origin.kid)

        return make


def load_key(path: Path) -> Ed25519PrivateKey:
    """The device key; refused when missing, unreadable or readable by others."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except FileNotFoundError as err:
        raise KeyFileError(f"找不到签名密钥 {path}：请重新安装本机的配置包（kiosk.key），或联系县信息中心",
                           f"no signing key at {path}: re-install this kiosk's bundle (its kiosk.key) "
                           "or contact county IT") from err
    except OSError as err:
        raise KeyFileError(f"无法读取签名密钥 {path}", f"cannot read the signing key {path}: {err.strerror}") from err
    if mode & 0o077:
        raise KeyFileError(f"签名密钥 {path} 权限过宽，请执行 chmod 600",
                           f"the signing key {path} is readable by others: chmod 600 it")
    try:
        return keys.private_key_from_pem(data)
    except MalformedError as err:
        raise KeyFileError(f"签名密钥 {path} 格式不对", f"{path} is not an Ed25519 PEM key") from err


def write_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Write a new key with mode 0600; never overwrite one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as err:
        raise KeyFileError(f"{path} 已有密钥，不会覆盖", f"{path} already holds a key; not overwriting it") from err
    with os.fdopen(fd, "wb") as handle:
        handle.write(keys.private_key_to_pem(key))
        handle.flush()
        os.fsync(handle.fileno())
