"""Whether this kiosk signs with the key its enrolment names.

The enrolment bundle (``provision enroll``) writes ``kiosk.signing_public_key``: the public
half of the signing key county IT registered for this kiosk. A kiosk whose key file holds
any other key (a key made again by hand, a bundle from another kiosk, a restored backup of
the wrong device) would sign records the gateway can never verify while the screen said
"签到成功": so the agent checks at start and refuses to record taps until it is put right.
"""

from __future__ import annotations

import logging

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.errors import SigningKeyMismatch
from records import keys

log = logging.getLogger(__name__)


def check_signing_key(key: Ed25519PrivateKey, enrolled_public: str, kiosk: str = "") -> None:
    """Raise :class:`SigningKeyMismatch` unless ``key`` is the key the enrolment names.

    ``enrolled_public``: the base64url public key from the bundle's configuration
    (``kiosk.signing_public_key``). Empty means a bundle written before the check existed:
    nothing to compare with, so it passes with a warning.
    """
    if not enrolled_public:
        log.warning("kiosk.signing_public_key is not set (a bundle older than this check): "
                    "the signing key cannot be compared with the enrolment")
        return
    actual = keys.public_key_text(key)
    if actual != enrolled_public.strip():
        who = f"（{kiosk}）" if kiosk else ""
        raise SigningKeyMismatch(
            f"本机{who}的签名密钥与登记的不一致，暂停签到。请联系县信息中心，或重新安装本机的配置包（kiosk.key）",
            f"this kiosk{' ' + kiosk if kiosk else ''} holds a signing key other than the one it was "
            "enrolled with: check-ins are paused. Re-install this kiosk's bundle (its kiosk.key) "
            "or contact county IT",
        )
