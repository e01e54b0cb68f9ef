"""The sandbox's certificate: self-signed for the environment's domain, imported into the sandbox's ACM.

The template's HTTPS listeners name it (CertificateArn), as they name an ACM certificate on AWS; the
front doors serve it with its key, and snailtrail's clients trust it, and nothing else extra, when the
environment is the sandbox (the state file's ``ca_file``). Subject alternative names: the domain,
``localhost`` and 127.0.0.1, where the front doors answer.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

VALID_DAYS = 30


def self_signed(domain: str) -> tuple[bytes, bytes]:
    """A self-signed certificate and its key (PEM) for ``domain``, as ACM's ImportCertificate takes them."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName(domain), x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        # Its own issuer: a CA certificate, so a client given it as its one trust anchor verifies it.
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        # What strict X.509 verification (Python 3.13's default context) asks of a CA certificate.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), pem_key


@dataclass(frozen=True)
class CertificateFiles:
    """Where the sandbox keeps its certificate (what clients trust) and its key (the front doors' alone)."""

    certificate: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """What an HTTPS front door serves: this certificate, TLS 1.2 or later (as the template's SslPolicy)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.certificate, self.key)
        return context


def write_certificate(directory: Path, domain: str) -> tuple[CertificateFiles, bytes, bytes]:
    """A new certificate for ``domain`` in ``directory`` (the key readable by its owner alone); its PEMs too."""
    certificate, key = self_signed(domain)
    directory.mkdir(parents=True, exist_ok=True)
    files = CertificateFiles(directory / "sandbox-ca.pem", directory / "sandbox-key.pem")
    files.certificate.write_bytes(certificate)
    files.key.unlink(missing_ok=True)
    with os.fdopen(os.open(files.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
        handle.write(key)
    return files, certificate, key
