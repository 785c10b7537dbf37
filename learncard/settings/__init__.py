"""The sections every LearnCard program's configuration may hold, merged from one module
per area. A section belongs to exactly one module."""

from __future__ import annotations

from learncard.config import Key
from learncard.settings import gateway, kiosk, privacy, provision

SCHEMA: dict[str, dict[str, Key]] = {}
for _module in (kiosk, gateway, provision, privacy):
    for _section, _keys in _module.SECTIONS.items():
        if _section in SCHEMA:
            raise RuntimeError(f"section [{_section}] is declared twice")
        SCHEMA[_section] = dict(_keys)

# the sections each program reads (``config show`` prints these)
SECTIONS_OF = {
    "kiosk": (*kiosk.SECTIONS, *privacy.SECTIONS),
    "gateway": (*gateway.SECTIONS, *privacy.SECTIONS),
    "provision": tuple(provision.SECTIONS),
}

# which sections each program must have complete
REQUIRED_BY = {
    "kiosk": kiosk.REQUIRED,
    "gateway": gateway.REQUIRED,
    "provision": provision.REQUIRED,
}
