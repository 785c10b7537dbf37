"""The kiosk's certificate warning: nothing until 60 days are left, then the days, in zh_CN and en."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.certificate import days_left, expiry_warning, file_warning

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def certificate(not_after: datetime) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "k-test-1")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(NOW - timedelta(days=400)).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


class TestExpiryWarning:
    def test_quiet_until_sixty_days_are_left(self) -> None:
        """61 days left: no warning."""
        assert expiry_warning(certificate(NOW + timedelta(days=61, hours=1)), NOW) is None

    def test_sixty_days_ahead_staff_are_told_in_both_languages(self) -> None:
        """60 days left: the warning names the days, Chinese first."""
        zh, en = expiry_warning(certificate(NOW + timedelta(days=60, hours=1)), NOW) or ("", "")
        assert "60 天后到期" in zh and "expires in 60 days" in en

    def test_an_expired_certificate_says_nothing_is_lost(self) -> None:
        """Past notAfter: negative days, and the message says records are kept."""
        pem = certificate(NOW - timedelta(days=2))
        assert days_left(pem, NOW) < 0
        zh, en = expiry_warning(pem, NOW) or ("", "")
        assert "已过期" in zh and "none is lost" in en

    def test_an_unreadable_certificate_is_a_warning(self, tmp_path: Path) -> None:
        """A missing file is reported, not ignored."""
        zh, en = file_warning(tmp_path / "missing.pem", NOW) or ("", "")
        assert "cannot read" in en and zh
