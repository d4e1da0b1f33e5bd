"""Throwaway certificate authorities and signing certificates, made with cryptography: for the tests, the
benchmarks and `make demo`, which signs its sample scans with a demo station identity.

    python examples/certificates.py FOLDER    writes FOLDER/ca.pem and FOLDER/station.p12 (password: demo)

Nothing here is fit to sign a real dossier: a centre's officers sign with certificates from a trusted
authority (in Vietnam, the Government Cipher Committee's CA or a licensed provider)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Issued:
    """A key and its certificate."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def write_pem(self, path: Path) -> Path:
        path.write_text(self.pem)
        return path


def _name(common_name: str, unit: str | None = None) -> x509.Name:
    parts = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if unit:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    return x509.Name(parts)


def make_ca(common_name: str = "sohoa test CA") -> Issued:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(key, certificate)


def issue(
    ca: Issued,
    common_name: str,
    *,
    unit: str | None = None,
    days: int = 365,
    starts_in_days: int = -1,
    timestamping: bool = False,
) -> Issued:
    """A leaf certificate for signing documents (or, with `timestamping`, for a timestamp server)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, unit))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=starts_in_days))
        .not_valid_after(now + timedelta(days=starts_in_days + days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=not timestamping,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if timestamping:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return Issued(key, builder.sign(ca.key, hashes.SHA256()))


def pkcs12_bytes(leaf: Issued, password: str | None, *, chain: tuple[Issued, ...] = ()) -> bytes:
    return pkcs12.serialize_key_and_certificates(
        name=b"sohoa-test",
        key=leaf.key,
        cert=leaf.certificate,
        cas=[c.certificate for c in chain] or None,
        encryption_algorithm=(
            serialization.BestAvailableEncryption(password.encode())
            if password
            else serialization.NoEncryption()
        ),
    )


def write_pkcs12(path: Path, leaf: Issued, password: str | None, *, chain: tuple[Issued, ...] = ()) -> Path:
    path.write_bytes(pkcs12_bytes(leaf, password, chain=chain))
    return path


DEMO_PASSWORD = "demo"


def write_demo_identity(folder: Path) -> Path:
    """A demo CA and station identity in `folder` (kept when already there); returns the PKCS#12's path."""
    folder.mkdir(parents=True, exist_ok=True)
    station = folder / "station.p12"
    if not station.exists():
        ca = make_ca("sohoa demo CA (không dùng cho hồ sơ thật)")
        ca.write_pem(folder / "ca.pem")
        leaf = issue(ca, "Trạm quét thử nghiệm sohoa", unit="Bộ phận Một cửa (demo)", days=3650)
        write_pkcs12(station, leaf, DEMO_PASSWORD, chain=(ca,))
    return station


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python examples/certificates.py FOLDER")
    print(write_demo_identity(Path(sys.argv[1])))
