"""The error tree of the gateway.

GatewayError                   base; the message says what is wrong and what to do
├── StoreError                 the store cannot be opened or written
├── AlreadyRunning             another gateway holds this store's (or client id's) lock
└── CountyFileError            a county file (registry, revocation list, staff roster) is
                               missing or does not verify
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base of every error raised by :mod:`gateway`."""


class StoreError(GatewayError):
    pass


class CountyFileError(GatewayError):
    pass


class AlreadyRunning(GatewayError):
    pass
