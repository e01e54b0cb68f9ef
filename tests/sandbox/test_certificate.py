"""The sandbox's certificate: its names, where it is kept, and that a client trusting it alone verifies it."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

from cryptography import x509

from snailtrail.sandbox.certificate import write_certificate


def test_the_certificate_names_the_domain_localhost_and_the_loopback_address(tmp_path: Path) -> None:
    files, pem, _ = write_certificate(tmp_path, "shine.sandbox.test")
    assert files.certificate.read_bytes() == pem
    names = x509.load_pem_x509_certificate(pem).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["shine.sandbox.test", "localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]


def test_the_key_is_readable_by_its_owner_alone(tmp_path: Path) -> None:
    files, _, key = write_certificate(tmp_path, "shine.sandbox.test")
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    assert files.key.read_bytes() == key
    # A new sandbox replaces them, still 0600.
    again, _, _ = write_certificate(tmp_path, "shine.sandbox.test")
    assert stat.S_IMODE(again.key.stat().st_mode) == 0o600 and again.key.read_bytes() != key
