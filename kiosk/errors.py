"""The error tree of the kiosk.

KioskError                      base; every message says what happened and what to do
├── JournalError                the journal cannot take a record
│   ├── JournalFull             over the configured size, or the disk is full
│   ├── JournalReadOnly         the file or its folder cannot be written
│   └── JournalCorrupt          quick_check failed (the file is quarantined, not deleted)
├── KeyFileError                the device key is missing, unreadable or too open
│   └── SigningKeyMismatch      the key is not the one the enrolment names
├── ReceiptMismatch             a gateway receipt that does not match the journal (settles nothing)
├── ControlError                a control-socket request was refused (``code`` says why)
├── AlreadyRunning              another agent holds this state folder's lock
├── ReaderUnavailable           a card reader cannot be opened (unplugged, no permission)
└── PrinterUnavailable          the slip printer cannot print (absent, misconfigured, out of paper)
"""

from __future__ import annotations


class KioskError(Exception):
    """Base of every error raised by :mod:`kiosk`."""

    code = "internal"

    def __init__(self, zh: str, en: str, *, code: str | None = None) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en
        if code is not None:
            self.code = code

    def message(self) -> dict[str, str]:
        return {"zh_CN": self.zh, "en": self.en}


class JournalError(KioskError):
    code = "journal-error"


class JournalFull(JournalError):
    code = "journal-full"


class JournalReadOnly(JournalError):
    code = "journal-readonly"


class JournalCorrupt(JournalError):
    code = "journal-corrupt"


class KeyFileError(KioskError):
    code = "key-file"


class SigningKeyMismatch(KeyFileError):
    code = "signing-key-mismatch"


class ReceiptMismatch(KioskError):
    code = "receipt-mismatch"


class ControlError(KioskError):
    code = "bad-request"


class ReaderUnavailable(KioskError):
    code = "reader-unavailable"


class AlreadyRunning(KioskError):
    code = "already-running"


class PrinterUnavailable(KioskError):
    """The slip printer is missing, misconfigured or failed mid-print: the slip stays on screen."""

    code = "printer-unavailable"
