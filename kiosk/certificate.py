"""How long the kiosk's TLS certificate has left, and the warning staff get 60 days ahead.

A kiosk certificate lasts five years; one that expires cuts the kiosk off from the broker
(its records wait in the journal, nothing is lost, but nothing reaches the county either),
so staff are told two months ahead, while county IT has time to renew it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from cryptography import x509

WARN_DAYS = 60


def days_left(cert_pem: bytes, now: datetime) -> int:
    """Whole days until the certificate's notAfter (negative once it has expired)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    return (cert.not_valid_after_utc - now).days


def expiry_warning(cert_pem: bytes, now: datetime) -> tuple[str, str] | None:
    """(zh_CN, en) for staff when the certificate ends within :data:`WARN_DAYS`, else None."""
    left = days_left(cert_pem, now)
    if left > WARN_DAYS:
        return None
    if left < 0:
        return ("本机证书已过期，记录无法上传（记录都已保存）。请联系县信息中心更新证书",
                "this kiosk's certificate has expired: records cannot be sent (none is lost); "
                "ask county IT to renew it")
    return (f"本机证书将在 {left} 天后到期，请联系县信息中心更新证书",
            f"this kiosk's certificate expires in {left} days: ask county IT to renew it")


def file_warning(path: Path, now: datetime) -> tuple[str, str] | None:
    """:func:`expiry_warning` for the certificate in ``path``; an unreadable one is a warning too."""
    try:
        return expiry_warning(path.read_bytes(), now)
    except (OSError, ValueError) as err:
        return (f"无法读取本机证书 {path}", f"cannot read this kiosk's certificate {path}: {err}")
