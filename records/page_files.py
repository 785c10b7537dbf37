"""The pages of a county document on disk, next to the whole document: ``<kind>.jws`` and
the folder ``<kind>.pages/`` holding ``_index.jws`` and one ``<page>.jws`` per page
(:mod:`records.county_pages`; a page key is hex digits, a venue id or ``_county`` — never
``_index``). The county home, the gateway's copy and the kiosk's state folder use the same
layout."""

from __future__ import annotations

import os
from pathlib import Path

INDEX = "_index.jws"


def folder_of(document: Path) -> Path:
    """``registry.jws`` → ``registry.pages``."""
    return document.with_suffix(".pages")


def page_path(folder: Path, key: str) -> Path:
    return folder / f"{key}.jws"


def write_file(path: Path, text: str, *, sync: bool = True) -> None:
    """Atomically (a reader sees the old file or the new one, never half of one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as handle:
        handle.write(text + "\n")
        if sync:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(tmp, path)


def write(folder: Path, index_token: str, pages: dict[str, tuple[int, str]], index_version: int, *,
          sync: bool = True) -> None:
    """Write the pages that changed at ``index_version`` (or are not on disk yet), then the
    index, then remove the pages the index no longer names. ``pages``: key → (version, token)."""
    for key, (version, token) in pages.items():
        path = page_path(folder, key)
        if version == index_version or not path.exists():
            write_file(path, token, sync=sync)
    write_file(folder / INDEX, index_token, sync=sync)
    for path in folder.glob("*.jws"):
        if path.name != INDEX and path.stem not in pages:
            path.unlink()


def read_index(folder: Path) -> str | None:
    try:
        return (folder / INDEX).read_text().strip()
    except FileNotFoundError:
        return None


def read_pages(folder: Path) -> dict[str, str]:
    """Page tokens by key, as found on disk."""
    return {p.stem: p.read_text().strip() for p in folder.glob("*.jws") if p.name != INDEX} if folder.is_dir() else {}


def read(folder: Path) -> tuple[str | None, dict[str, str]]:
    """(the index token or None, page tokens by key) as found on disk."""
    return read_index(folder), read_pages(folder)
