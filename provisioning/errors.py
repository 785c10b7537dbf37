"""The error tree of provisioning.

ProvisioningError               base; the message says what is wrong and what to do
├── HomeError                   the county home folder is missing, foreign, or exists already
├── RequestError                an enrolment request is malformed, tampered or for a bad id
├── RegistryError               the registry does not verify, or a kiosk is unknown / known already
└── BrokerConfigError           the broker configuration cannot be written
"""

from __future__ import annotations


class ProvisioningError(Exception):
    """Base of every error raised by :mod:`provisioning`."""


class HomeError(ProvisioningError):
    pass


class RequestError(ProvisioningError):
    pass


class RegistryError(ProvisioningError):
    pass


class BrokerConfigError(ProvisioningError):
    pass
