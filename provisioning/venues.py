"""Venues in the county's tree: county → township (乡镇/街道) → venue, for statistics rolled
up by township. Each venue in the registry may name its ``township``; the registry's
``townships`` maps a township code to its name. Both fields are optional, so registries
made before them stay valid; a venue without a township is counted as 未归属乡镇."""

from __future__ import annotations

from typing import Any

from provisioning.errors import RegistryError, RequestError
from provisioning.home import CountyHome
from records.county import Document
from records.ids import is_valid_name


def place(home: CountyHome, venue: str, township: str, township_name: str = "") -> Document:
    """Put ``venue`` under ``township`` (naming the township if a name is given): a new
    signed registry version."""
    if not is_valid_name(township):
        raise RequestError(f"乡镇代码不合规 / township code {township!r} must match [a-z0-9-]{{3,40}}")
    body: dict[str, Any] = dict(home.load_document("registry").body)
    venues = dict(body.get("venues", {}))
    if venue not in venues:
        raise RegistryError(f"没有此场所 / venue {venue!r} is not in the registry (enrol a kiosk there first)")
    townships = dict(body.get("townships", {}))
    if township_name or township not in townships:
        townships[township] = {"name": township_name or townships.get(township, {}).get("name") or township}
    venues[venue] = {**venues[venue], "township": township}
    body.update(venues=venues, townships=townships)
    return home.save_document("registry", body)


def tree(home: CountyHome) -> list[dict[str, Any]]:
    body = home.load_document("registry").body
    townships = body.get("townships", {})
    return [{"venue": v, "name": e.get("name"), "level": e.get("level"), "township": e.get("township"),
             "township_name": townships.get(e.get("township"), {}).get("name")}
            for v, e in sorted(body.get("venues", {}).items())]
