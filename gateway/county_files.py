"""The county's signed files as the gateway holds them: the registry, the card revocation
list and the staff roster. Loaded at start and on SIGHUP; a file that does not verify, or
is older than the one in force, is refused with a warning and the one in force stays."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.errors import CountyFileError
from records import county
from records.errors import RecordError

log = logging.getLogger(__name__)

TOPICS = {"registry": "lc/v1/county/registry", "revoked-cards": "lc/v1/county/revoked-cards",
          "staff": "lc/v1/county/staff"}


class CountyFiles:
    def __init__(self, county_id: str, issuer: Ed25519PublicKey, paths: dict[str, Path]) -> None:
        self.county_id = county_id
        self.issuer = issuer
        self.paths = paths
        self._docs: dict[str, county.Document] = {}
        self._registry: county.Registry | None = None
        self._lock = threading.Lock()

    def load(self, *, first: bool = False) -> list[str]:
        """(Re)load every file; returns the kinds that changed. At start the registry must load."""
        changed = []
        for kind, path in self.paths.items():
            try:
                token = path.read_text().strip()
                doc = county.verify_document(token, self.issuer, kind, self.county_id)
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
                    self._registry = county.Registry(doc)
            changed.append(kind)
            log.info("%s version %d in force", kind, doc.version)
        return changed

    def registry(self) -> county.Registry:
        registry = self._registry
        if registry is None:
            raise CountyFileError("no registry is loaded")
        return registry

    def document(self, kind: str) -> county.Document | None:
        return self._docs.get(kind)
