"""Certificate renewal: the kiosk asks with its enrolled key for its existing TLS key
(`kiosk renew-request`), county IT signs a new certificate (`provision renew`), the kiosk
places it (`install-bundle`) with its keys untouched; a request signed by any other key, or
for a revoked kiosk, is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from tests.integration.test_install import scratch_root
from tests.support.cli import learncard, ok


@pytest.fixture
def enrolled(tmp_path: Path) -> tuple[Path, Path, Path]:
    """An installed kiosk with its bundle placed; its configuration with paths under the root; the county home."""
    root = scratch_root(tmp_path)
    ok("install", "kiosk", "--root", root, "--develop")
    home = tmp_path / "county"
    ok("provision", "--home", home, "init", "--county", "county-3301", "--home-page", "https://learn.example")
    ok("kiosk", "enroll-request", "--kiosk", "k-chengguan-1", "--out", root / "var/lib/learncard")
    ok("provision", "--home", home, "enroll", "--request", root / "var/lib/learncard/enroll-request.jws",
       "--venue", "v-chengguan", "--level", "township-school", "--out", tmp_path / "bundle")
    ok("kiosk", "install-bundle", tmp_path / "bundle", "--root", root)
    placed = (root / "etc/learncard/kiosk.toml").read_text()
    config = tmp_path / "kiosk.toml"
    config.write_text(placed.replace('"/etc/', f'"{root}/etc/').replace('"/var/', f'"{root}/var/'))
    return root, config, home


def cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_renewal_gives_a_new_certificate_for_the_same_keys(enrolled: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """New serial, same TLS key, placed by install-bundle; the kiosk's keys are not touched."""
    root, config, home = enrolled
    old = cert(root / "etc/learncard/kiosk-cert.pem")
    keys_before = [(root / f"var/lib/learncard/{n}").read_bytes() for n in ("kiosk.key", "tls.key")]
    ok("kiosk", "renew-request", "--config", config, "--out", tmp_path / "stick")
    ok("provision", "--home", home, "renew", "--request", tmp_path / "stick/renew-request.jws",
       "--out", tmp_path / "renewed")
    out = ok("kiosk", "install-bundle", tmp_path / "renewed", "--root", root)
    assert "made: /etc/learncard/kiosk-cert.pem" in out
    new = cert(root / "etc/learncard/kiosk-cert.pem")
    assert new.serial_number != old.serial_number
    assert new.public_key() == old.public_key()
    assert new.subject == old.subject
    assert keys_before == [(root / f"var/lib/learncard/{n}").read_bytes() for n in ("kiosk.key", "tls.key")]


def test_a_request_signed_by_another_key_is_refused(enrolled: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """Someone else's keys under this kiosk's id (a stolen id, not the key): no certificate."""
    _root, _config, home = enrolled
    ok("kiosk", "enroll-request", "--kiosk", "k-chengguan-1", "--out", tmp_path / "impostor")
    done = learncard("provision", "--home", home, "renew", "--request", tmp_path / "impostor/enroll-request.jws",
                     "--out", tmp_path / "renewed")
    assert 1 == done.returncode
    assert "only the enrolled kiosk itself can ask for its certificate" in done.stderr
    assert not (tmp_path / "renewed").exists()


def test_a_revoked_kiosk_gets_no_certificate(enrolled: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """After `provision revoke`, the kiosk's own request is refused."""
    _root, config, home = enrolled
    ok("provision", "--home", home, "revoke", "k-chengguan-1", "--reason", "stolen")
    ok("kiosk", "renew-request", "--config", config, "--out", tmp_path / "stick")
    done = learncard("provision", "--home", home, "renew", "--request", tmp_path / "stick/renew-request.jws",
                     "--out", tmp_path / "renewed")
    assert 1 == done.returncode
    assert "a revoked kiosk gets no certificate" in done.stderr
