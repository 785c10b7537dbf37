"""The county's two CAs for the broker's mutual TLS: ECDSA P-256 certificates.

The *device CA* signs the county's own identities: the broker's server certificate, the
gateway's and consumers' client certificates. The *kiosk CA* signs kiosk client
certificates only (CN = kiosk id = MQTT user name = MQTT client id), and never for a name
reserved for the county's identities (``gateway…``, ``consumer-…``, ``county…``,
``broker…``): so a kiosk certificate can never carry the gateway's identity, and the issuer
says which kind a certificate is. Kiosks make their own TLS key and send a CSR; the CA
never sees a kiosk's private key (but with ``--generate``).
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provisioning.errors import RequestError
from records.ids import is_reserved_name

CA_YEARS, LEAF_YEARS = 20, 5


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_key(data: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise RequestError("the TLS key is not an ECDSA key")
    return key


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(county: str, key: ec.EllipticCurvePrivateKey, kind: str = "device") -> x509.Certificate:
    """A CA certificate: ``kind`` "device" (the county's own identities) or "kiosk"."""
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(f"LearnCard {kind} CA {county}"))
        .issuer_name(_name(f"LearnCard {kind} CA {county}"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )


def make_csr(cn: str, key: ec.EllipticCurvePrivateKey) -> bytes:
    csr = x509.CertificateSigningRequestBuilder().subject_name(_name(cn)).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def check_csr(pem: bytes, expected_cn: str) -> x509.CertificateSigningRequest:
    try:
        csr = x509.load_pem_x509_csr(pem)
    except ValueError as err:
        raise RequestError("the certificate request is not a PEM CSR") from err
    if not csr.is_signature_valid:
        raise RequestError("the certificate request's signature is wrong (tampered?)")
    cns = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if [a.value for a in cns] != [expected_cn]:
        raise RequestError(f"the certificate request is for {cns[0].value if cns else '?'!r}, "
                           f"not {expected_cn!r}")
    return csr


def sign_leaf(ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, cn: str,
              public_key: ec.EllipticCurvePublicKey, *, server_names: list[str] | None = None
              ) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * LEAF_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if server_names:
        alt: list[x509.GeneralName] = []
        for name in server_names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alt.append(x509.DNSName(name))
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
        usage = ExtendedKeyUsageOID.SERVER_AUTH
    else:
        usage = ExtendedKeyUsageOID.CLIENT_AUTH
    builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def sign_kiosk(ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, kiosk: str,
               public_key: ec.EllipticCurvePublicKey) -> x509.Certificate:
    """A kiosk's client certificate from the kiosk CA; never for a reserved name."""
    if is_reserved_name(kiosk):
        raise RequestError(f"{kiosk!r} is a name reserved for the county's own services "
                           "(gateway…, consumer-…, county…, broker…): a kiosk may not take it")
    return sign_leaf(ca_cert, ca_key, kiosk, public_key)
