"""Turning a Debian-family machine into a kiosk or a county gateway, and back.

``install(role, root)`` is idempotent: every step looks at what is there and does only what
is missing, and says which (``made`` / ``kept``). Everything lands under ``root`` (``/`` on
a real host; a scratch folder in tests and when building an image), so the same code is
tested in CI:

- system users and groups (shadow's ``useradd``/``groupadd --prefix ROOT``);
- ``/etc/learncard`` (root:learncard 0750), ``/var/lib/learncard`` (learncard, 0700 on a
  kiosk), ``/var/lib/learncard-ui``;
- ``/opt/learncard``: a venv built from wheels (the project's and its dependencies', from
  the package index or, offline, a wheelhouse folder on a stick) — not Debian's packages
  (Kivy 2.3, nfcpy and paho 2 are not in bookworm) and not the system Python (PEP 668 refuses
  on bookworm). A venv is not relocatable: its scripts name ``ROOT/opt/learncard``. With
  ``develop`` the launcher runs the interpreter that ran the install instead (labs, CI);
- the units from ``systemd/``, enabled (``systemctl --root``); on a kiosk, the readers' udev
  rules and the kernel NFC driver blacklist from ``udev/``;
  on a gateway, Mosquitto's ``conf.d`` snippet; on a kiosk, the UI's PAM service.

``uninstall`` removes the program, units, rules and snippets and keeps every byte of data
(``/etc/learncard``, ``/var/lib/learncard``) and the users that own it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from provisioning.files import write_atomic

SOURCE = Path(__file__).resolve().parents[1]
UNIT_DIR = SOURCE / "systemd"
ROLES = ("kiosk", "gateway")
USERS = {
    "kiosk": [("learncard", ["plugdev", "dialout", "input", "video", "lp"]),
              ("learncard-ui", ["learncard", "video", "render", "input", "audio"])],
    "gateway": [("learncard", [])],
}
UNITS = {"kiosk": ["learncard-agent.service", "learncard-ui.service"], "gateway": ["learncard-gateway.service"]}
EXTRAS = {"kiosk": "kiosk", "gateway": "gateway"}
UDEV_RULES = "etc/udev/rules.d/60-learncard-readers.rules"  # udev/ in the source (the readers' helper)
NFC_BLACKLIST = "etc/modprobe.d/learncard-nfc-blacklist.conf"  # the kernel's NFC drivers kept off them
MOSQUITTO_SNIPPET = "etc/mosquitto/conf.d/learncard.conf"
PAM_SERVICE = "etc/pam.d/learncard-ui"
PAM_TEXT = """# written by `learncard install kiosk`: the touchscreen's autologin session on tty1
auth     required pam_permit.so
account  required pam_unix.so
session  required pam_unix.so
session  required pam_systemd.so
"""


class InstallError(Exception):
    """The host cannot be set up as asked; the message says what to do."""


def mosquitto_snippet(port: int = 8883, address: str = "0.0.0.0") -> str:  # noqa: S104 (kiosks connect over the network)
    """The LearnCard listener for Debian's Mosquitto (its main file already sets persistence,
    logging and ``include_dir /etc/mosquitto/conf.d``). County IT puts ``client-cas.pem`` and
    ``acl`` (written by ``provision broker-config``), ``server.pem`` and ``server.key`` from the
    county home's ``broker/`` into ``/etc/mosquitto/learncard`` (docs/operations.md).
    ``client-cas.pem`` holds the device CA and the kiosk CA: kiosk certificates come from the
    kiosk CA (docs/provisioning.md, "Identities")."""
    return f"""# written by `learncard install gateway`: the LearnCard listener (docs/operations.md)
per_listener_settings false
# never drop a persistent session's QoS 1 messages (the default drops past 1000, silently)
max_queued_messages 0
max_queued_bytes 0
persistent_client_expiration 60d
max_packet_size 270000
autosave_interval 60

listener {port} {address}
cafile /etc/mosquitto/learncard/client-cas.pem
certfile /etc/mosquitto/learncard/server.pem
keyfile /etc/mosquitto/learncard/server.key
require_certificate true
use_identity_as_username true
use_username_as_clientid true
tls_version tlsv1.2
allow_anonymous false
acl_file /etc/mosquitto/learncard/acl
"""


@dataclass
class Host:
    root: Path
    steps: list[str] = field(default_factory=list)

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    @property
    def prefix(self) -> list[str]:
        return [] if self.root == Path("/") else ["--prefix", str(self.root)]

    def note(self, made: bool, what: str) -> None:
        self.steps.append(f"{'made' if made else 'kept'}: {what}")

    def run(self, argv: list[str]) -> None:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise InstallError(f"`{shlex.join(argv)}` failed: {done.stderr.strip() or done.stdout.strip()}")

    # --- users ------------------------------------------------------------------------------

    def _table(self, name: str) -> dict[str, list[str]]:
        path = self.path(f"/etc/{name}")
        if not path.exists():
            raise InstallError(f"{path} does not exist: --root must be a system root (with etc/passwd and etc/group)")
        return {line.split(":")[0]: line.split(":") for line in path.read_text().splitlines() if line.count(":") >= 3}

    def ids(self, user: str, group: str) -> tuple[int, int]:
        return int(self._table("passwd")[user][2]), int(self._table("group")[group][2])

    def ensure_group(self, name: str) -> None:
        if name in self._table("group"):
            return
        self.run(["groupadd", *self.prefix, "--system", "-f", name])
        self.note(True, f"group {name}")

    def ensure_user(self, name: str, home: str, groups: list[str]) -> None:
        for group in groups:
            self.ensure_group(group)
        if name not in self._table("passwd"):
            self.run(["useradd", *self.prefix, "--system", "--user-group", "--home-dir", home, "--no-create-home",
                      "--shell", "/usr/sbin/nologin", "--comment", "LearnCard", name])
            self.note(True, f"user {name}")
        members = self._table("group")
        missing = [g for g in groups if name not in members[g][3].split(",")]
        if missing:
            self.run(["usermod", *self.prefix, "--append", "--groups", ",".join(missing), name])
            self.note(True, f"{name} in groups {', '.join(missing)}")

    # --- files ------------------------------------------------------------------------------

    def ensure_dir(self, absolute: str, mode: int, user: str = "root", group: str = "root") -> None:
        path = self.path(absolute)
        made = not path.is_dir()
        path.mkdir(parents=True, exist_ok=True)
        self.own(path, mode, user, group)
        self.note(made, f"{absolute} ({oct(mode)[2:]} {user}:{group})")

    def own(self, path: Path, mode: int, user: str, group: str) -> None:
        uid, gid = self.ids(user, group)
        if os.geteuid() == 0:
            os.chown(path, uid, gid)
        path.chmod(mode)

    def place(self, absolute: str, data: bytes, mode: int = 0o644, user: str = "root", group: str = "root") -> bool:
        """Write a file atomically unless it already holds ``data``; True when written."""
        path = self.path(absolute)
        same = path.is_file() and path.read_bytes() == data
        if not same:
            write_atomic(path, data, mode)
        self.own(path, mode, user, group)
        self.note(not same, absolute)
        return not same


def install_python(host: Host, role: str, *, develop: bool, wheelhouse: Path | None) -> None:
    launcher = "/opt/learncard/bin/learncard"
    if develop:
        text = (f"#!/bin/sh\n# written by `learncard install --develop`: this checkout, not a venv\n"
                f"PYTHONPATH={shlex.quote(str(SOURCE))} exec {shlex.quote(sys.executable)} -m learncard \"$@\"\n")
        host.place(launcher, text.encode(), 0o755)
        return
    venv = host.path("/opt/learncard")
    if not (venv / "bin" / "python").exists():
        host.run([sys.executable, "-m", "venv", str(venv)])
        host.note(True, "/opt/learncard (venv)")
    pip = [str(venv / "bin" / "pip"), "install", "--upgrade"]
    if wheelhouse is not None:
        pip += ["--no-index", "--find-links", str(wheelhouse)]
    host.run([*pip, f"learncard[{EXTRAS[role]}]"])
    host.note(True, f"learncard[{EXTRAS[role]}] in /opt/learncard")


def enable(host: Host, units: list[str]) -> None:
    wants = host.path("/etc/systemd/system")
    # the links point at /etc/…, absent under a scratch root: look at the links themselves
    already = all(any((d / unit).is_symlink() for d in wants.glob("*.wants")) for unit in units)
    systemctl = ["systemctl"] if host.root == Path("/") else ["systemctl", f"--root={host.root}"]
    host.run([*systemctl, "enable", *units])
    if host.root == Path("/") and Path("/run/systemd/system").is_dir():
        host.run(["systemctl", "daemon-reload"])
    host.note(not already, f"enabled {', '.join(units)}")


def install(role: str, root: Path, *, develop: bool = False, wheelhouse: Path | None = None,
            broker_port: int = 8883) -> list[str]:
    if role not in ROLES:
        raise InstallError(f"role {role!r}: kiosk or gateway")
    host = Host(root)
    for user, groups in USERS[role]:
        host.ensure_user(user, f"/var/lib/{user}", groups)
    host.ensure_dir("/etc/learncard", 0o750, "root", "learncard")
    host.ensure_dir("/var/lib/learncard", 0o700 if role == "kiosk" else 0o750, "learncard", "learncard")
    if role == "kiosk":
        host.ensure_dir("/var/lib/learncard-ui", 0o700, "learncard-ui", "learncard-ui")
        host.place("/" + PAM_SERVICE, PAM_TEXT.encode())
    host.ensure_dir("/opt/learncard", 0o755)
    install_python(host, role, develop=develop, wheelhouse=wheelhouse)
    for unit in UNITS[role]:
        host.place(f"/etc/systemd/system/{unit}", (UNIT_DIR / unit).read_bytes())
    if role == "kiosk":
        for installed in (UDEV_RULES, NFC_BLACKLIST):
            host.place("/" + installed, (SOURCE / "udev" / Path(installed).name).read_bytes())
    if role == "gateway":
        host.place("/" + MOSQUITTO_SNIPPET, mosquitto_snippet(broker_port).encode())
    enable(host, UNITS[role])
    return host.steps


def uninstall(root: Path) -> list[str]:
    """Remove the program and what points at it; keep settings, keys, journal and store."""
    host = Host(root)
    units = [u for units in UNITS.values() for u in units if host.path(f"/etc/systemd/system/{u}").exists()]
    if units:
        systemctl = ["systemctl"] if host.root == Path("/") else ["systemctl", f"--root={host.root}"]
        host.run([*systemctl, "disable", *units])
    for absolute in [*(f"/etc/systemd/system/{u}" for u in units), "/" + UDEV_RULES, "/" + NFC_BLACKLIST,
                     "/" + MOSQUITTO_SNIPPET, "/" + PAM_SERVICE]:
        path = host.path(absolute)
        if path.exists():
            path.unlink()
            host.steps.append(f"removed: {absolute}")
    if host.path("/opt/learncard").exists():
        shutil.rmtree(host.path("/opt/learncard"))
        host.steps.append("removed: /opt/learncard")
    host.steps.append("kept: /etc/learncard, /var/lib/learncard, /var/lib/learncard-ui and the learncard users")
    return host.steps
