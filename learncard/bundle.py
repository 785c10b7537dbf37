"""Placing a kiosk's enrolment bundle (from ``learncard provision enroll``) where the units
look, with absolute paths, owners and modes:

    /etc/learncard/kiosk.toml        root:learncard 0640   every path in it absolute
    /etc/learncard/kiosk-cert.pem    root:learncard 0644   the kiosk's TLS certificate
    /etc/learncard/device-ca.pem     root:learncard 0644   the county's device CA
    /var/lib/learncard/kiosk.key     learncard 0600        the signing key (made on the kiosk)
    /var/lib/learncard/tls.key       learncard 0600        the TLS key (made on the kiosk)

The keys stay where ``learncard kiosk enroll-request --out /var/lib/learncard`` made them; a
lab bundle (``enroll --generate``) carries its own, which are placed only where there are
none. Before anything is written the signing key is checked against the one the enrolment
names (:func:`kiosk.identity.check_signing_key`) and the TLS key against the certificate;
a bundle for another kiosk than the one configured here is refused (its journal would
continue under the wrong name). Nothing here ever suggests making a new key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from kiosk.identity import check_signing_key
from kiosk.signer import load_key
from learncard.config import read_text, to_toml
from learncard.install import Host, InstallError

ETC, STATE = "/etc/learncard", "/var/lib/learncard"
PUBLIC_FILES = ("kiosk-cert.pem", "device-ca.pem")
KEYS = {"kiosk.key": ("kiosk", "key_path"), "tls.key": ("uplink", "key_file")}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as err:
        raise InstallError(f"{path}: not valid TOML: {err}") from err


def _public_key_bytes(key: Any) -> bytes:
    return bytes(key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))


def install_bundle(bundle: Path, root: Path) -> list[str]:
    host = Host(root)
    values = _read_toml(bundle / "kiosk.toml") if (bundle / "kiosk.toml").is_file() else None
    if values is None or "kiosk" not in values or "id" not in values["kiosk"]:
        raise InstallError(f"{bundle} holds no kiosk.toml with [kiosk] id: give the folder `provision enroll` wrote")
    kiosk = values["kiosk"]["id"]
    current = host.path(f"{ETC}/kiosk.toml")
    if current.is_file():
        installed = _read_toml(current).get("kiosk", {}).get("id")
        if installed and installed != kiosk:
            raise InstallError(
                f"本机已登记为 {installed}，配置包属于 {kiosk}；请先导出待上传记录并联系县信息中心 / this kiosk is "
                f"enrolled as {installed} and the bundle is for {kiosk}: export its pending records "
                "(learncard kiosk export) and ask county IT before re-enrolling it")
    for name in PUBLIC_FILES:
        if not (bundle / name).is_file():
            raise InstallError(f"{bundle} lacks {name}: give the whole folder `provision enroll` wrote")
    # the keys: those already on the kiosk win; a lab bundle's fill the gaps
    sources: dict[str, Path] = {}
    for name in KEYS:
        placed, carried = host.path(f"{STATE}/{name}"), bundle / name
        sources[name] = placed if placed.is_file() else carried
        if not sources[name].is_file():
            raise InstallError(f"no {name} on this kiosk ({STATE}) nor in the bundle: this bundle answers "
                               "another enrolment request; ask county IT for this kiosk's bundle")
    check_signing_key(load_key(sources["kiosk.key"]), values["kiosk"].get("signing_public_key", ""), kiosk)
    tls_key = serialization.load_pem_private_key(sources["tls.key"].read_bytes(), None)
    cert = x509.load_pem_x509_certificate((bundle / "kiosk-cert.pem").read_bytes())
    if _public_key_bytes(tls_key.public_key()) != _public_key_bytes(cert.public_key()):
        raise InstallError("证书与本机 TLS 密钥不匹配 / the bundle's certificate is not for this kiosk's TLS key "
                           "(tls.key): ask county IT for this kiosk's bundle")
    host.ensure_dir(ETC, 0o750, "root", "learncard")
    host.ensure_dir(STATE, 0o700, "learncard", "learncard")
    for name in KEYS:
        if sources[name] != host.path(f"{STATE}/{name}"):
            host.place(f"{STATE}/{name}", sources[name].read_bytes(), 0o600, "learncard", "learncard")
    for name in PUBLIC_FILES:
        host.place(f"{ETC}/{name}", (bundle / name).read_bytes(), 0o644, "root", "learncard")
    values["kiosk"].update({"key_path": f"{STATE}/kiosk.key", "state_dir": STATE})
    values.setdefault("uplink", {}).update({"ca_file": f"{ETC}/device-ca.pem", "cert_file": f"{ETC}/kiosk-cert.pem",
                                            "key_file": f"{STATE}/tls.key"})
    text = f"# placed by `learncard kiosk install-bundle` for {kiosk}\n" + to_toml(values)
    host.place(f"{ETC}/kiosk.toml", text.encode(), 0o640, "root", "learncard")
    return host.steps
