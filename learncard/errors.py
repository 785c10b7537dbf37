"""Which exceptions ``main()`` turns into one clear line and a non-zero exit.

Each package names its error tree's base here; importing lazily keeps a gateway host free
of the kiosk's libraries.
"""

from __future__ import annotations

import importlib

# module, base class: the root of each package's error tree
_BASES = [
    ("records.errors", "RecordError"),
    ("kiosk.errors", "KioskError"),
    ("gateway.errors", "GatewayError"),
    ("provisioning.errors", "ProvisioningError"),
]


def user_errors() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = []
    for module_name, name in _BASES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        found.append(getattr(module, name))
    return tuple(found)
