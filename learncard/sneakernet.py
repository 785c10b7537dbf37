"""Records on a USB stick, for a station that never gets a network.

``export`` (kiosk) writes the journal's outbox — every pending record, signed and chained,
exactly the tokens the uplink would send — and the kiosk's status into one file; ``import_file``
(gateway) hands them to the gateway's own ``Ingest.handle`` in uplink-sized messages, so they
are verified and stored exactly as over MQTT, once each, and writes the receipts it made into
a receipt file; ``import_receipt`` (kiosk) applies those receipts with the same
``Journal.settle`` the uplink calls. Nothing is settled by carrying a file: only a receipt
whose head matches the journal settles anything.

The export file is text: one JSON header line, then one record token per line. The header
names the county, the kiosk, how many records follow and the SHA-256 of those lines, so a
half-written stick (FAT drivers, a stick pulled early) is found and refused as a whole,
whatever rename did. Files are written to a temporary name, flushed and renamed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from provisioning.files import write_atomic

EXPORT_KIND = "learncard-export"
RECEIPT_KIND = "learncard-receipt"
VERSION = 1
BATCH_LINES = 200  # the uplink's batch size: each message is what MQTT would have carried
BATCH_BYTES = 200 * 1024  # under the gateway's 256 KiB per message


class StickError(Exception):
    """A file on the stick cannot be used; the message says why and what to do."""


def _digest(lines: list[str]) -> str:
    return hashlib.sha256("".join(f"{line}\n" for line in lines).encode("ascii")).hexdigest()


def _write(path: Path, text: str) -> None:
    """Write, flush to the stick, rename into place, flush the folder (the rename itself)."""
    write_atomic(path, text)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def write_export(folder: Path, county: str, kiosk: str, tokens: list[str], status: dict[str, Any]) -> Path:
    if not folder.is_dir():
        raise StickError(f"找不到 {folder}，请插好U盘 / {folder} is not a folder: is the stick mounted?")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    header = {"kind": EXPORT_KIND, "v": VERSION, "county": county, "kiosk": kiosk, "made": _now(),
              "records": len(tokens), "sha256": _digest(tokens), "status": status}
    path = folder / f"learncard-{kiosk}-{stamp}.lcx"
    _write(path, json.dumps(header, ensure_ascii=False) + "\n" + "".join(f"{t}\n" for t in tokens))
    return path


@dataclass
class Export:
    path: Path
    county: str
    kiosk: str
    tokens: list[str]
    sha256: str
    status: dict[str, Any] = field(default_factory=dict)


def read_export(path: Path) -> Export:
    damaged = (f"文件不完整或已损坏，请在本机重新导出 / {path} is incomplete or damaged (a stick pulled "
               "out early?): export it again on the kiosk (learncard kiosk export); nothing was stored")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise StickError(f"cannot read {path}: {err.strerror}") from err
    except UnicodeDecodeError as err:
        raise StickError(damaged) from err
    first, _, rest = text.partition("\n")
    try:
        header = json.loads(first)
    except ValueError as err:
        raise StickError(damaged) from err
    if not isinstance(header, dict) or header.get("kind") != EXPORT_KIND:
        raise StickError(f"{path} is not a LearnCard export (learncard kiosk export writes them)")
    if header.get("v") != VERSION:
        raise StickError(f"{path}: export version {header.get('v')} is not known here: update this gateway")
    tokens = [line for line in rest.split("\n") if line]
    cut = bool(rest) and not rest.endswith("\n")
    if cut or len(tokens) != header.get("records") or _digest(tokens) != header.get("sha256"):
        raise StickError(damaged)
    return Export(path, str(header["county"]), str(header["kiosk"]), tokens, str(header["sha256"]),
                  dict(header.get("status") or {}))


def batches(tokens: list[str]) -> list[bytes]:
    """Uplink-sized messages, in the file's (chain) order."""
    out: list[bytes] = []
    chunk: list[str] = []
    size = 0
    for token in tokens:
        if chunk and (len(chunk) >= BATCH_LINES or size + len(token) + 1 > BATCH_BYTES):
            out.append("\n".join(chunk).encode("ascii"))
            chunk, size = [], 0
        chunk.append(token)
        size += len(token) + 1
    if chunk:
        out.append("\n".join(chunk).encode("ascii"))
    return out


def write_receipt(export: Export, receipts: list[dict[str, Any]], summary: dict[str, Any],
                  folder: Path | None = None) -> Path:
    body = {"kind": RECEIPT_KIND, "v": VERSION, "county": export.county, "kiosk": export.kiosk,
            "export_sha256": export.sha256, "made": _now(), "summary": summary, "receipts": receipts}
    path = (folder or export.path.parent) / f"{export.path.stem}.receipt.json"
    _write(path, json.dumps(body, ensure_ascii=False, indent=1) + "\n")
    return path


def read_receipt(path: Path, kiosk: str) -> list[dict[str, Any]]:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise StickError(f"cannot read {path}: {err.strerror}") from err
    except ValueError as err:
        raise StickError(f"回执文件不完整，请在县里重新导入 / {path} is incomplete or damaged: import the "
                         "export again at the gateway and carry the new receipt back; nothing was settled") from err
    if not isinstance(body, dict) or body.get("kind") != RECEIPT_KIND:
        raise StickError(f"{path} is not a LearnCard receipt (learncard gateway import writes them)")
    if body.get("kiosk") != kiosk:
        raise StickError(f"回执属于 {body.get('kiosk')}，不是本机 / {path} is the receipt of kiosk "
                         f"{body.get('kiosk')}, not of this kiosk ({kiosk}): nothing was settled")
    receipts = body.get("receipts")
    if not isinstance(receipts, list):
        raise StickError(f"{path} holds no receipts: nothing was settled")
    return receipts
