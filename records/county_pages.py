"""County documents in pages: each under the broker's message limit, each signed by the
county issuer key and verifiable on its own (docs/scale.md, "County documents in pages").

A whole document (``registry``, ``revoked-cards``, ``staff``, ``programme``) is split into
pages, each a county document of its own kind ``<kind>-page`` — so a page can never pass as
a whole document, nor a whole document as a page — with body ``{"page": key, ...the
entries of that page...}``, and an index, kind ``<kind>-index``, at the whole document's
version: ``{"of": kind, "by": "hash"|"venue", "digits": d, "common": {...},
"pages": {key: version}}``.

- ``by = "hash"`` (the revocation list, the registry): an entry's page is the first ``d``
  hex digits of sha256 of its id (the card id; the kiosk, venue or signer id). ``d`` is the
  smallest number that keeps every page under :data:`PAGE_TARGET` and never goes down, so
  a growing list is re-paged rarely. A kiosk needs every page, and the index tells it
  whether it has them all.
- ``by = "venue"`` (the staff roster, the programme): a page per venue (a staff member of
  several venues is on each of their pages) and :data:`COUNTY_PAGE` for what belongs to
  every venue (staff with venue ``*``) and the document's common fields (the programme's
  categories and session defaults). A kiosk needs its venue's page and the county page only.

A page's version is the whole document's version when that page last changed: a page that
did not change keeps its version and its signed token, so a holder fetches only what
changed. A key a version used stays (as an empty page if its entries went away) as long as
the digits stay the same, so a holder never keeps a stale page for lack of a newer one.

Pure: no files, no network (``provisioning/pages.py`` writes them, the gateway publishes
them, ``kiosk/county_docs.py`` holds them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from records import county
from records.errors import MalformedRecord

COUNTY_PAGE = "_county"  # never a venue id ([a-z0-9-]): the venue-paged documents' county-wide page
PAGE_TARGET = county.MAX_MESSAGE // 2  # a new split leaves every page half full: room to grow
MAX_DIGITS = 3  # 4,096 pages (index 44 KB); at 4 the index of 65,536 keys would be over the limit itself


@dataclass(frozen=True)
class Scheme:
    by: str  # "hash" or "venue"
    fields: tuple[str, ...]  # the body's collections that are split; the rest is common


SCHEMES: dict[str, Scheme] = {
    "revoked-cards": Scheme("hash", ("cards",)),
    "registry": Scheme("hash", ("kiosks", "venues", "signers")),
    "staff": Scheme("venue", ("staff",)),
    "programme": Scheme("venue", ("courses",)),
}
PAGED = tuple(SCHEMES)
_DICT_FIELDS = frozenset({"kiosks", "venues", "signers"})  # the rest are lists


class PageTooLarge(ValueError):
    """A venue's page would be over the broker's message limit."""


def page_kind(kind: str) -> str:
    return f"{kind}-page"


def index_kind(kind: str) -> str:
    return f"{kind}-index"


def bucket(ident: str, digits: int) -> str:
    return hashlib.sha256(ident.encode("utf-8")).hexdigest()[:digits]


def _venue_keys(field: str, entry: Any) -> list[str]:
    if field == "staff":
        venues = entry.get("venues", []) if isinstance(entry, dict) else []
        keys = sorted({COUNTY_PAGE if v == "*" else str(v) for v in venues})
        return keys or [COUNTY_PAGE]
    venue = entry.get("venue") if isinstance(entry, dict) else None
    return [str(venue) if venue else COUNTY_PAGE]


_Entry = tuple[str, "str | None", Any, str]  # field, key in a dict collection (or None), value, hash


def _entries(kind: str, body: Mapping[str, Any]) -> list[_Entry]:
    """Every entry of the split collections, with sha256 hex of its id (hash-paged kinds)."""
    scheme = SCHEMES[kind]
    out: list[_Entry] = []
    sha = hashlib.sha256
    for field in scheme.fields:
        collection = body.get(field, [])
        if isinstance(collection, dict):
            for ident, value in collection.items():
                out.append((field, ident, value, sha(ident.encode()).hexdigest() if scheme.by == "hash" else ""))
        else:
            for value in collection:
                name = str(value.get("card", "")) if scheme.by == "hash" and isinstance(value, dict) else ""
                out.append((field, None, value, sha(name.encode()).hexdigest() if scheme.by == "hash" else ""))
    return out


def _split(kind: str, entries: list[_Entry], digits: int) -> dict[str, dict[str, Any]]:
    scheme = SCHEMES[kind]
    pages: dict[str, dict[str, Any]] = {}
    if scheme.by == "venue":
        pages[COUNTY_PAGE] = empty_page(kind, COUNTY_PAGE)  # always there: a kiosk knows it arrived
    for field, ident, value, digest in entries:
        for key in ([digest[:digits]] if scheme.by == "hash" else _venue_keys(field, value)):
            page = pages.get(key)
            if page is None:
                page = pages[key] = empty_page(kind, key)
            if ident is None:
                page[field].append(value)
            else:
                page[field][ident] = value
    return pages


def split(kind: str, body: Mapping[str, Any], digits: int = 0) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(common fields, page bodies by key) of a whole document's body."""
    common = {k: v for k, v in body.items() if k not in SCHEMES[kind].fields}
    return common, _split(kind, _entries(kind, body), digits)


def empty_page(kind: str, key: str) -> dict[str, Any]:
    return {"page": key, **{f: ({} if f in _DICT_FIELDS else []) for f in SCHEMES[kind].fields}}


def merge(kind: str, common: Mapping[str, Any], pages: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A body as the whole document's, from the common fields and the pages held (an entry on
    several pages — a staff member of several venues — once)."""
    scheme = SCHEMES[kind]
    body: dict[str, Any] = dict(common)
    seen: dict[str, set[bytes]] = {}
    for page in pages:
        for name, value in page.items():  # the county page's common fields (venue-paged kinds)
            if name != "page" and name not in scheme.fields:
                body[name] = value
        for field in scheme.fields:
            part = page.get(field)
            if isinstance(part, dict):
                body.setdefault(field, {}).update(part)
            elif isinstance(part, list):
                kept = body.setdefault(field, [])
                marks = seen.setdefault(field, set())
                for entry in part:
                    mark = orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)
                    if mark not in marks:
                        marks.add(mark)
                        kept.append(entry)
    for field in scheme.fields:
        body.setdefault(field, {} if field in _DICT_FIELDS else [])
    return body


def _size(kind: str, county_id: str, body: Mapping[str, Any]) -> int:
    """A page token's length from above: base64url of the payload plus header and signature."""
    payload = len(orjson.dumps(body)) + len(kind) + len(county_id) + 200
    return (payload * 4 + 2) // 3 + 2 * len(county_id) + 200


@dataclass(frozen=True)
class Paged:
    """A whole document's pages (key → signed page) and its signed index."""

    index: county.Document
    pages: dict[str, county.Document]

    @property
    def digits(self) -> int:
        return int(self.index.body.get("digits", 0))


def _digits(kind: str, doc: county.Document, entries: list[_Entry],
            previous: int) -> tuple[int, dict[str, dict[str, Any]]]:
    """The previous digits while every page fits the limit, else the fewest that leave every
    page under :data:`PAGE_TARGET`; and the pages at those digits."""
    digits = max(previous, 1)
    if previous:
        pages = _split(kind, entries, digits)
        if all(_size(kind, doc.county, p) <= county.MAX_MESSAGE for p in pages.values()):
            return digits, pages
    total = len(orjson.dumps({f: doc.body.get(f) for f in SCHEMES[kind].fields}))
    while digits < MAX_DIGITS and total > (PAGE_TARGET // 2) * 16 ** digits:  # a first guess, skew allowed
        digits += 1
    while True:
        pages = _split(kind, entries, digits)
        if digits == MAX_DIGITS or all(_size(kind, doc.county, p) <= PAGE_TARGET for p in pages.values()):
            return digits, pages
        digits += 1


def paginate(doc: county.Document, key: Ed25519PrivateKey, issued: datetime,
             previous: Paged | None = None) -> Paged:
    """The pages and index of ``doc`` (a whole document just signed). Pages whose entries are
    those of ``previous`` keep their version and token. Raises :class:`PageTooLarge` when a
    page would be over the limit (a venue's, or a hash page beyond :data:`MAX_DIGITS`)."""
    scheme = SCHEMES[doc.kind]
    entries = _entries(doc.kind, doc.body)
    if scheme.by == "hash":
        digits, bodies = _digits(doc.kind, doc, entries, previous.digits if previous else 0)
    else:
        digits, bodies = 0, _split(doc.kind, entries, 0)
    common = {k: v for k, v in doc.body.items() if k not in scheme.fields}
    if scheme.by == "venue":  # a kiosk reads no index of these: the county page carries them
        bodies[COUNTY_PAGE].update(common)
    old = previous.pages if previous is not None and previous.digits == digits else {}
    for stale in old.keys() - bodies.keys():  # a key this digit count used stays, empty
        bodies[stale] = empty_page(doc.kind, stale)
    pages: dict[str, county.Document] = {}
    for name, body in sorted(bodies.items()):
        before = old.get(name)
        if before is not None and before.body == body:
            pages[name] = before
            continue
        page = county.sign_document(page_kind(doc.kind), doc.county, doc.version, body, key, issued)
        if len(page.token) > county.MAX_MESSAGE:
            raise PageTooLarge(f"the {doc.kind} page {name!r} would be {len(page.token)} bytes, over the "
                               f"broker's message limit of {county.MAX_MESSAGE}")
        pages[name] = page
    index = county.sign_document(index_kind(doc.kind), doc.county, doc.version,
                                 {"of": doc.kind, "by": scheme.by, "digits": digits, "common": common,
                                  "pages": {k: p.version for k, p in pages.items()}}, key, issued)
    if len(index.token) > county.MAX_MESSAGE and scheme.by == "hash":  # kiosks read hash indexes only
        raise PageTooLarge(f"the {doc.kind} index would be {len(index.token)} bytes, over the broker's "
                           f"message limit of {county.MAX_MESSAGE}")
    return Paged(index, pages)


def verify_page(token: str | bytes, issuer: Ed25519PublicKey, kind: str, county_id: str,
                name: str | None = None) -> county.Document:
    """A page of ``kind`` signed by the county (and named ``name``, when the topic or file says
    which page it is); else raise."""
    doc = county.verify_document(token, issuer, page_kind(kind), county_id)
    page = doc.body.get("page")
    if not isinstance(page, str) or (name is not None and page != name):
        raise MalformedRecord(f"this {kind} page is {page!r}, not {name!r}")
    return doc


def verify_index(token: str | bytes, issuer: Ed25519PublicKey, kind: str, county_id: str) -> county.Document:
    doc = county.verify_document(token, issuer, index_kind(kind), county_id)
    body = doc.body
    pages = body.get("pages")
    if (body.get("of") != kind or not isinstance(pages, dict) or not isinstance(body.get("common", {}), dict)
            or not all(isinstance(v, int) for v in pages.values())):
        raise MalformedRecord(f"this {kind} index has no page list")
    return doc


def page_versions(index: county.Document) -> dict[str, int]:
    return {str(k): int(v) for k, v in index.body.get("pages", {}).items()}


def missing(index: county.Document, held: Mapping[str, int]) -> list[str]:
    """The pages the index names that are not held at (at least) the version it names."""
    return sorted(k for k, v in page_versions(index).items() if held.get(k, 0) < v)
