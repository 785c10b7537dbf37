"""The county's signed files as the gateway holds them: the registry, the card revocation
list, the staff roster, the programme and the credit rules. Loaded at start, on SIGHUP
(``learncard gateway reload``), when a file changes on disk (:meth:`CountyFiles.changed_on_disk`,
polled by the gateway), and once when a record names a kiosk or key the registry in force does
not know (:meth:`CountyFiles.reread`). A file that does not verify, or is older than the one in
force, is refused with a warning and the one in force stays.

The paged documents (registry, revocation list, staff roster, programme) also come as signed
pages with an index in ``<kind>.pages/`` next to the whole file (records/county_pages.py):
loaded when the index is newer than the one in force, every page it names verified and of the
version it names, and of the whole document's version (pages of another version are refused:
``learncard provision pages`` writes them for the version in force)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.errors import CountyFileError
from records import county, county_pages, page_files
from records.errors import RecordError

log = logging.getLogger(__name__)

TOPICS = {"registry": "lc/v1/county/registry", "revoked-cards": "lc/v1/county/revoked-cards",
          "staff": "lc/v1/county/staff", "programme": "lc/v1/county/programme",
          "credit-rules": "lc/v1/county/credit-rules"}


def page_topic(kind: str, key: str) -> str:
    """``lc/v1/county/<kind>/<page>``: one page of a paged document (docs/contract-notes.md)."""
    return f"{TOPICS[kind]}/{key}"


INDEX_PREFIX = "lc/v1/county/index/"
SYNC_TOPIC = f"{INDEX_PREFIX}_sync"  # the gateway's own marker (gateway/service.py, _sync_pages); no kiosk reads it


def index_topic(kind: str) -> str:
    """``lc/v1/county/index/<kind>``: the index of a paged document's pages."""
    return f"{INDEX_PREFIX}{kind}"


@dataclass(frozen=True)
class PageSet:
    """A paged document's verified pages as published: the signed tokens only."""

    version: int
    index: str  # the index token
    pages: dict[str, tuple[int, str]]  # key -> (version, token)


class CountyFiles:
    def __init__(self, county_id: str, issuer: Ed25519PublicKey, paths: dict[str, Path], *,
                 pages: bool = True) -> None:
        """``pages``: load the paged documents' pages too (the running gateway publishes them;
        a report or a one-off command needs the whole files only)."""
        self.county_id = county_id
        self.with_pages = pages
        self.issuer = issuer
        self.paths = paths
        self._docs: dict[str, county.Document] = {}
        self._pages: dict[str, PageSet] = {}
        self._registry: county.Registry | None = None
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[int, int] | None] = {}  # kind -> (mtime_ns, size) when last read
        self._last_read = 0.0
        self.on_change: list[Callable[[list[str]], None]] = []  # e.g. publish the new retained copies

    @staticmethod
    def _stamp(path: Path) -> tuple[int, int] | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def changed_on_disk(self) -> bool:
        """Whether any file's modification time or size differs from when it was last read."""
        return any(self._stamp(path) != self._seen.get(kind) for kind, path in self.paths.items()) or any(
            self._stamp(self._index_path(kind)) != self._seen.get(f"{kind}.pages")
            for kind in self.paths if self.with_pages and kind in county_pages.PAGED)

    def _index_path(self, kind: str) -> Path:
        return page_files.folder_of(self.paths[kind]) / page_files.INDEX

    def reread(self, min_interval: float = 1.0) -> list[str]:
        """Load again if a file changed on disk or the last read is ``min_interval`` seconds old
        (a flood of records naming unknown kiosks must not turn into a flood of file reads)."""
        if time.monotonic() - self._last_read < min_interval and not self.changed_on_disk():
            return []
        return self.load()

    def load(self, *, first: bool = False) -> list[str]:
        """(Re)load every file; returns the kinds that changed. At start the registry must load."""
        changed = []
        self._last_read = time.monotonic()
        for kind, path in self.paths.items():
            whole = self._load_whole(kind, path, first)
            pages = self.with_pages and kind in county_pages.PAGED and self._load_pages(kind)
            if whole or pages:
                changed.append(kind)
        if changed:
            for listener in self.on_change:
                listener(changed)
        return changed

    def _load_whole(self, kind: str, path: Path, first: bool) -> bool:
        self._seen[kind] = self._stamp(path)
        try:
            token = path.read_text().strip()
            doc = county.verify_document(token, self.issuer, kind, self.county_id)
            registry = county.Registry(doc) if kind == "registry" else None  # checks kiosk names
        except FileNotFoundError:
            if first and kind == "registry":
                raise CountyFileError(f"the registry {path} is missing: copy it from the county home") from None
            log.warning("county file %s is missing", path)
            return False
        except (OSError, RecordError) as err:
            if first and kind == "registry":
                raise CountyFileError(f"the registry {path} does not verify: {err}") from err
            log.warning("county file %s refused (%s); keeping the one in force", path, err)
            return False
        with self._lock:
            current = self._docs.get(kind)
            if not county.newer(current, doc):
                if current is not None and doc.version < current.version:
                    log.warning("%s version %d is older than %d in force; ignored", kind, doc.version,
                                current.version)
                return False
            self._docs[kind] = doc
            if kind == "registry":
                self._registry = registry
        extra = f", {len(self._registry.kiosks)} kiosks" if kind == "registry" and self._registry else ""
        log.info("loaded %s version %d from %s%s", kind, doc.version, path, extra)
        return True

    def _load_pages(self, kind: str) -> bool:
        """Take the pages in ``<kind>.pages/`` if their index is newer than the pages in force,
        every page verifies and they are of the whole document's version; True if taken."""
        folder = page_files.folder_of(self.paths[kind])
        self._seen[f"{kind}.pages"] = self._stamp(folder / page_files.INDEX)
        try:
            index_token = page_files.read_index(folder)
            if index_token is None:
                if self.paths[kind].exists() and kind not in self._pages:
                    log.warning("%s has no pages (%s): kiosks of a large county cannot get it; run "
                                "`learncard provision pages` in the county home and copy the folder", kind, folder)
                return False
            index = county_pages.verify_index(index_token, self.issuer, kind, self.county_id)
            current = self._pages.get(kind)
            if current is not None and index.version <= current.version:
                return False
            doc = self._docs.get(kind)
            whole = None if doc is None else doc.version
            if whole is not None and whole != index.version:
                log.warning("the %s pages are of version %d, the document of version %d: pages not taken "
                            "(`learncard provision pages` writes them for the version in force)",
                            kind, index.version, whole)
                return False
            tokens = page_files.read_pages(folder)
            pages = {}
            for key, version in county_pages.page_versions(index).items():
                if key not in tokens:
                    raise RecordError(f"page {key!r} is missing")
                page = county_pages.verify_page(tokens[key], self.issuer, kind, self.county_id, key)
                if page.version != version:
                    raise RecordError(f"page {key!r} is of version {page.version}, the index names {version}")
                pages[key] = (page.version, page.token)
        except (OSError, RecordError) as err:
            log.warning("the %s pages in %s are refused (%s); keeping those in force", kind, folder, err)
            return False
        with self._lock:
            self._pages[kind] = PageSet(index.version, index.token, pages)
        log.info("loaded %d %s pages of version %d", len(pages), kind, index.version)
        return True

    def pages(self, kind: str) -> PageSet | None:
        return self._pages.get(kind)

    def registry(self) -> county.Registry:
        registry = self._registry
        if registry is None:
            raise CountyFileError("no registry is loaded")
        return registry

    def document(self, kind: str) -> county.Document | None:
        return self._docs.get(kind)
