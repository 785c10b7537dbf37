"""Settings of the county IT tool."""

from __future__ import annotations

from learncard.config import Key

SECTIONS: dict[str, dict[str, Key]] = {
    "provision": {
        "home": Key("~/learncard-county", "path", help="the county's home folder"),
    },
}

REQUIRED: tuple[str, ...] = ()
