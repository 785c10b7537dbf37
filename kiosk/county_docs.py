"""The county's signed documents as the kiosk keeps them: the card revocation list, the
staff roster, the programme (课程表), the credit rules (学时规则) and the kiosk registry (its
kiosks' public keys verify walk-in slips made at any kiosk of the county, offline). Kept as
files in the state folder, replaced only by a verified, strictly newer version; anything else
is ignored with a warning.

The registry, the revocation list, the staff roster and the programme also come in signed
pages (records/county_pages.py), each under the broker's message limit: every page of the
revocation list and the registry (their index says which there are), and only this kiosk's
venue's page and the county page of the staff roster and the programme. Pages are kept in
``<kind>.pages/`` in the state folder, each replaced only by a verified, strictly newer page.
The kiosk answers from its pages unless it holds a whole document of a newer version (1.1
gateways publish whole documents only; this release's publish them whole too while they fit).
The revocation list is the union of the whole list held and every page held: a card is never
taken for unrevoked because a page is missing — no worse than a whole list that has not
arrived — and :meth:`CountyDocuments.missing_pages` names what an index lists and the kiosk
lacks (shown in ``status``)."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from records import county, county_pages, page_files
from records.errors import RecordError
from records.rules import RuleBook

log = logging.getLogger(__name__)

FILES = {"revoked-cards": "revoked-cards.jws", "staff": "staff.jws", "programme": "programme.jws",
         "credit-rules": "credit-rules.jws", "registry": "registry.jws"}


class CountyDocuments:
    def __init__(self, state_dir: Path, county_id: str, issuer: Ed25519PublicKey, venue: str | None = None) -> None:
        self.state_dir = state_dir
        self.county_id = county_id
        self.issuer = issuer
        self.venue = venue  # of the staff roster's and programme's pages, this venue's and the county's are kept
        self._docs: dict[str, county.Document] = {}
        self._pages: dict[str, dict[str, county.Document]] = {kind: {} for kind in county_pages.PAGED}
        self._indexes: dict[str, county.Document] = {}
        self._named: dict[str, dict[str, int]] = {}  # the pages each index names, by key: their versions
        self._cache: dict[str, Any] = {}  # answers made from pages; dropped when a page or index changes
        self._lock = threading.Lock()
        for kind, name in FILES.items():
            path = state_dir / name
            if path.exists():
                self.update(kind, path.read_text().strip(), persist=False)
        for kind in county_pages.PAGED:
            index, pages = page_files.read(self._folder(kind))
            if index is not None:
                self.update(county_pages.index_kind(kind), index, persist=False)
            for token in pages.values():
                self.update(county_pages.page_kind(kind), token, persist=False)

    def _folder(self, kind: str) -> Path:
        return page_files.folder_of(self.state_dir / FILES[kind])

    def update(self, kind: str, token: str, *, persist: bool = True) -> bool:
        """Take a document — or a page (kind ``<kind>-page``) or an index (``<kind>-index``) —
        if it verifies and is newer; True when it replaced the one held."""
        if kind in county.PAGE_KINDS:
            base, _, part = kind.rpartition("-")
            if part == "index":
                return self._update_index(base, token, persist)
            return self._update_page(base, token, persist)
        if kind not in FILES:
            log.warning("ignored a county document of unknown kind %r", kind)
            return False
        try:
            doc = county.verify_document(token, self.issuer, kind, self.county_id)
        except RecordError as err:
            log.warning("ignored a %s that does not verify: %s", kind, err)
            return False
        with self._lock:
            current = self._docs.get(kind)
            if not county.newer(current, doc):
                if current is not None and doc.version < current.version:
                    log.warning("ignored an older %s (version %d < %d)", kind, doc.version, current.version)
                return False
            if persist:
                path = self.state_dir / FILES[kind]
                tmp = path.with_suffix(".tmp")
                tmp.write_text(token)
                with open(tmp, "rb") as handle:
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            self._docs[kind] = doc
            self._forget(kind)
        log.info("%s version %d in force", kind, doc.version)
        return True

    def _forget(self, kind: str) -> None:
        self._cache.pop(kind, None)
        if kind == "registry":
            self._cache.pop("registry-object", None)

    # --- pages ----------------------------------------------------------------------------------

    def _wanted(self, kind: str, key: str) -> bool:
        """Every page of a hash-paged kind; this venue's and the county page of the others."""
        if county_pages.SCHEMES[kind].by == "hash" or self.venue is None:
            return True
        return key in (self.venue, county_pages.COUNTY_PAGE)

    def _update_page(self, kind: str, token: str, persist: bool) -> bool:
        try:
            page = county_pages.verify_page(token, self.issuer, kind, self.county_id)
        except RecordError as err:
            log.warning("ignored a %s page that does not verify: %s", kind, err)
            return False
        key = str(page.body["page"])
        if not self._wanted(kind, key) or "/" in key or key.startswith("."):
            log.warning("ignored %s page %r: not this kiosk's", kind, key)
            return False
        with self._lock:
            current = self._pages[kind].get(key)
            if not county.newer(current, page):
                if current is not None and page.version < current.version:
                    log.warning("ignored an older %s page %s (version %d < %d)", kind, key, page.version,
                                current.version)
                return False
            index = self._indexes.get(kind)
            if index is not None and page.version <= index.version and key not in self._named[kind]:
                log.info("ignored %s page %s version %d: index version %d no longer names it", kind, key,
                         page.version, index.version)
                return False
            if persist:  # no fsync: a page lost to a power cut is named missing and fetched again
                page_files.write_file(page_files.page_path(self._folder(kind), key), token, sync=False)
            self._pages[kind][key] = page
            self._forget(kind)
        return True

    def _update_index(self, kind: str, token: str, persist: bool) -> bool:
        try:
            index = county_pages.verify_index(token, self.issuer, kind, self.county_id)
        except RecordError as err:
            log.warning("ignored a %s index that does not verify: %s", kind, err)
            return False
        with self._lock:
            current = self._indexes.get(kind)
            if not county.newer(current, index):
                return False
            folder = self._folder(kind)
            if persist:
                page_files.write_file(folder / page_files.INDEX, token, sync=False)
            self._indexes[kind] = index
            named = self._named[kind] = county_pages.page_versions(index)
            for key in [k for k, p in self._pages[kind].items() if k not in named and p.version <= index.version]:
                del self._pages[kind][key]  # re-paged, or gone
                page_files.page_path(folder, key).unlink(missing_ok=True)
            self._forget(kind)
        lacking = self.missing_pages().get(kind, [])
        log.info("%s index version %d in force (%d pages%s)", kind, index.version, len(named),
                 f", {len(lacking)} not held yet" if lacking else "")
        return True

    def missing_pages(self) -> dict[str, list[str]]:
        """The pages each index names that this kiosk does not hold at the version it names
        (the kinds with an index: the revocation list and the registry)."""
        out = {}
        for kind in list(self._indexes):
            if county_pages.SCHEMES[kind].by != "hash":
                continue
            held = self._pages[kind]
            lacking = sorted(k for k, v in self._named[kind].items() if k not in held or held[k].version < v)
            if lacking:
                out[kind] = lacking
        return out

    def complete(self, kind: str) -> bool:
        """Whether this kiosk holds every page of ``kind`` it needs (the uplink then asks the
        broker for no retained copies when it subscribes again: only what changes comes)."""
        if county_pages.SCHEMES[kind].by == "hash":
            return kind in self._indexes and kind not in self.missing_pages()
        return county_pages.COUNTY_PAGE in self._pages[kind]

    def _pages_version(self, kind: str) -> int:
        if county_pages.SCHEMES[kind].by == "hash":
            index = self._indexes.get(kind)
            return 0 if index is None else index.version
        return max((p.version for p in self._pages[kind].values()), default=0)

    def _from_pages(self, kind: str) -> bool:
        """Answer from the pages: some are held and no whole document is newer."""
        if county_pages.SCHEMES[kind].by == "hash" and kind not in self._indexes:
            return False
        if not self._pages[kind] and kind not in self._indexes:
            return False
        whole = self._docs.get(kind)
        return whole is None or whole.version <= self._pages_version(kind)

    def _body(self, kind: str) -> dict[str, Any] | None:
        if not self._from_pages(kind):
            whole = self._docs.get(kind)
            return None if whole is None else whole.body
        cached = self._cache.get(kind)
        if cached is None:
            with self._lock:
                index = self._indexes.get(kind)
                common = dict(index.body.get("common", {})) if index is not None else {}
                cached = county_pages.merge(kind, common, [p.body for p in self._pages[kind].values()])
                self._cache[kind] = cached
        return cached

    def version(self, kind: str) -> int:
        doc = self._docs.get(kind)
        whole = 0 if doc is None else doc.version
        return max(whole, self._pages_version(kind)) if kind in county_pages.SCHEMES else whole

    # --- answers ----------------------------------------------------------------------------------

    def revoked_cards(self) -> frozenset[str]:
        """Every card the whole list held and the pages held name (a union: never fewer)."""
        cached = self._cache.get("revoked-cards")
        if cached is not None:
            return frozenset(cached)
        doc = self._docs.get("revoked-cards")
        with self._lock:
            cards = set() if doc is None else set(county.revoked_cards(doc))
            for page in self._pages["revoked-cards"].values():
                cards.update(str(c["card"]) for c in page.body.get("cards", []))
            result = frozenset(cards)
            self._cache["revoked-cards"] = result
        return result

    def staff_entry(self, card_id: str) -> dict[str, Any] | None:
        body = self._body("staff")
        if body is None:
            return None
        for entry in body.get("staff", []):
            if entry.get("card") == card_id:
                return dict(entry)
        return None

    def staff_by_id(self, staff_id: str) -> dict[str, Any] | None:
        body = self._body("staff")
        if body is None:
            return None
        for entry in body.get("staff", []):
            if entry.get("staff_id") == staff_id:
                return dict(entry)
        return None

    def programme(self) -> dict[str, Any] | None:
        """The programme's body, or None before the first one arrives."""
        return self._body("programme")

    def rule_book(self) -> RuleBook | None:
        """The county's credit rules, or None before they arrive (the kiosk's [rules] then)."""
        doc = self._docs.get("credit-rules")
        if doc is None:
            return None
        try:
            return RuleBook.from_body(doc.body)
        except ValueError as err:  # signed by the county, so a fault is the county's to fix
            log.error("the county's credit rules version %d cannot be used: %s", doc.version, err)
            return None

    def registry(self) -> county.Registry | None:
        """The kiosk registry, or None before the first one arrives. From pages, a kiosk on a
        page not held yet is unknown: its walk-in slips are refused, never taken."""
        if not self._from_pages("registry"):
            whole = self._docs.get("registry")
            return None if whole is None else county.Registry(whole)
        cached = self._cache.get("registry-object")
        if cached is None:
            body = self._body("registry") or {}
            index = self._indexes["registry"]
            cached = county.Registry(county.Document("", "registry", self.county_id, index.version,
                                                     index.issued, body))
            self._cache["registry-object"] = cached
        return cached

    @property
    def has_roster(self) -> bool:
        return "staff" in self._docs or bool(self._pages["staff"])
