"""A child process for the crash test: appends records forever, saying "done <seq>" on
stdout only after each commit returned (what the screen would have shown as done)."""

from __future__ import annotations

import sys
from pathlib import Path

from kiosk.clock import Clock
from kiosk.journal import Journal
from kiosk.signer import Signer, load_key
from records import record


def main() -> None:
    journal_path, key_path = Path(sys.argv[1]), Path(sys.argv[2])
    clock = Clock()
    signer = Signer(load_key(key_path), record.Origin("k-crash", "v-test", 1, clock.bootid), clock)
    journal = Journal.open(journal_path)
    out = sys.stdout
    while True:
        rec = journal.append(signer.maker("kiosk.checkpoint", {"pending": 0, "journal_bytes": 0}))
        out.write(f"done {rec.epoch} {rec.seq}\n")
        out.flush()


if __name__ == "__main__":
    main()
