"""The county's signed files as the gateway holds them: the registry, the card revocation
list, the staff roster, the programme and the credit rules. Loaded at start, on SIGHUP
(``learncard gateway reload``), when a file changes on disk (:meth:`CountyFiles.changed_on_disk`,
polled by the gateway), and once when a record names a kiosk or key the registry in force does
not know (:meth:`CountyFiles.reread`). A file that does not verify, or is older than the one in
force, is refused with a warning and the one in force stays."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.errors import CountyFileError
from records import county
from records.errors import RecordError

log = logging.getLogger(__name__)

TOPICS = {"registry": "lc/v1/county/registry", "revoked-cards": "lc/v1/county/revoked-cards",
          "staff": "lc/v1/county/staff", "programme": "lc/v1/county/programme",
          "credit-rules": "lc/v1/county/credit-rules"}


class CountyFiles:
    def __init__(self, county_id: str, issuer: Ed25519PublicKey, paths: dict[str, Path]) -> None:
        self.county_id = county_id
        self.issuer = issuer
        self.paths = paths
        self._docs: dict[str, county.Document] = {}
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
        return any(self._stamp(path) != self._seen.get(kind) for kind, path in self.paths.items())

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
            self._seen[kind] = self._stamp(path)
            try:
                token = path.read_text().strip()
                doc = county.verify_document(token, self.issuer, kind, self.county_id)
                registry = county.Registry(doc) if kind == "registry" else None  # checks kiosk names
            except FileNotFoundError:
                if first and kind == "registry":
                    raise CountyFileError(f"the registry {path} is missing: copy it from the county home") from None
                log.warning("county file %s is missing", path)
                continue
            except (OSError, RecordError) as err:
                if first and kind == "registry":
                    raise CountyFileError(f"the registry {path} does not verify: {err}") from err
                log.warning("county file %s refused (%s); keeping the one in force", path, err)
                continue
            with self._lock:
                current = self._docs.get(kind)
                if not county.newer(current, doc):
                    if current is not None and doc.version < current.version:
                        log.warning("%s version %d is older than %d in force; ignored", kind, doc.version,
                                    current.version)
                    continue
                self._docs[kind] = doc
                if kind == "registry":
                    self._registry = registry
            changed.append(kind)
            extra = f", {len(self._registry.kiosks)} kiosks" if kind == "registry" and self._registry else ""
            log.info("loaded %s version %d from %s%s", kind, doc.version, path, extra)
        if changed:
            for listener in self.on_change:
                listener(changed)
        return changed

    def registry(self) -> county.Registry:
        registry = self._registry
        if registry is None:
            raise CountyFileError("no registry is loaded")
        return registry

    def document(self, kind: str) -> county.Document | None:
        return self._docs.get(kind)
