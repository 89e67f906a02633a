"""A plant certificate authority and the server certificate it signs (HTTPS on the plant LAN).

Tablets need a secure context for service workers, so Floorbook is served over HTTPS with a
certificate from a small CA that each tablet trusts once. Keys are EC P-256 (ECDSA, SHA-256):
Android (since 4.x) and iPadOS accept it both as an installed CA and for TLS; it meets Apple's
key-size rule (RSA >= 2048 or ECC >= 256) and gives small, fast handshakes on tablets.

Server certificates follow Apple's rules for TLS certificates: every host in SubjectAlternativeName
(the Common Name is ignored), ExtendedKeyUsage serverAuth and a validity of at most 397 days.
Reissuing one with the same CA needs nothing new on the tablets.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_KEY, CA_CERT = "plant-ca.key", "plant-ca.crt"
SERVER_KEY, SERVER_CERT = "server.key", "server.crt"
MAX_SERVER_DAYS = 397  # Apple: TLS server certificates valid for more than 398 days are refused
CLOCK_SKEW = dt.timedelta(minutes=5)  # a tablet whose clock runs a little behind still accepts the cert
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


class TlsError(ValueError):
    """A certificate cannot be made as asked; the message says why and what to do."""


def create_authority(folder: Path, name: str, days: int, *, force: bool = False) -> Path:
    """Create the plant CA (plant-ca.key 0600, plant-ca.crt) in folder; return the certificate's path.

    An existing CA is kept unless force=True: a new CA means every tablet must trust it again.
    """
    folder = Path(folder)
    if not name.strip():
        raise TlsError("the CA name must not be empty")
    if days < 1:
        raise TlsError(f"--days must be at least 1 (got {days})")
    for existing in (folder / CA_CERT, folder / CA_KEY):
        if existing.exists() and not force:
            raise TlsError(f"{existing} already exists: the plant CA is kept, because tablets trust it; "
                           "pass --force (force=True) to replace it, then trust the new CA on every tablet")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name.strip()),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Floorbook")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW).not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # new folders only: keys live here
    _write(folder / CA_KEY, _key_pem(key), private=True)
    return _write(folder / CA_CERT, cert.public_bytes(serialization.Encoding.PEM))


def issue_server_certificate(folder: Path, hosts: list[str], days: int) -> tuple[Path, Path]:
    """Sign a server certificate for hosts with the plant CA in folder; return (server.crt, server.key).

    server.crt holds the server certificate followed by the CA certificate (the chain gunicorn sends).
    """
    folder = Path(folder)
    if days < 1 or days > MAX_SERVER_DAYS:
        raise TlsError(f"--days must be between 1 and {MAX_SERVER_DAYS} (got {days}): Apple devices refuse TLS "
                       f"server certificates valid for longer; reissue it with the same CA before it expires")
    names = parse_hosts(hosts)
    ca_key, ca_cert = load_authority(folder)
    now = dt.datetime.now(dt.timezone.utc)
    not_after = now + dt.timedelta(days=days)
    if not_after > ca_cert.not_valid_after_utc:
        raise TlsError(f"the plant CA in {folder / CA_CERT} expires on {ca_cert.not_valid_after_utc:%Y-%m-%d}, "
                       f"before this certificate would ({not_after:%Y-%m-%d}): use fewer --days or a new CA")
    key = ec.generate_private_key(ec.SECP256R1())
    first = next((n.value for n in names if isinstance(n, x509.DNSName)), str(names[0].value))
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, first)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(ca_key, hashes.SHA256()))
    key_path = _write(folder / SERVER_KEY, _key_pem(key), private=True)
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
    return _write(folder / SERVER_CERT, chain), key_path


def parse_hosts(hosts: list[str]) -> list[x509.GeneralName]:
    """Each host as an IPAddress (IPv4/IPv6) or DNSName entry, in order, without duplicates."""
    if not hosts:
        raise TlsError("name at least one host: the IP address or DNS name the tablets use, e.g. 192.168.1.20")
    names: list[x509.GeneralName] = []
    for host in hosts:
        raw = host.strip()
        try:
            name: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(raw.strip("[]")))
        except ValueError:
            name = x509.DNSName(_dns_name(host))
        if name not in names:
            names.append(name)
    return names


def _dns_name(host: str) -> str:
    """host as an ASCII DNS name (IDNA for non-ASCII names), or TlsError naming it."""
    expected = (f"{host!r} is not a valid host: expected an IPv4 address (192.168.1.20), an IPv6 address "
                "(fd00::20) or a DNS name (floorbook.plant.lan: letters, digits and hyphens, dot-separated)")
    try:
        name = host.strip().rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError as error:
        raise TlsError(expected) from error
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise TlsError(expected)
    return name


def load_authority(folder: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """The plant CA's key and certificate from folder, checked to belong together."""
    for path in (Path(folder) / CA_CERT, Path(folder) / CA_KEY):
        if not path.exists():
            raise TlsError(f"{path} not found: create the plant CA first with "
                           f"`flask --app wsgi tls ca --dir {folder}`")
    try:
        cert = x509.load_pem_x509_certificate((Path(folder) / CA_CERT).read_bytes())
        key = serialization.load_pem_private_key((Path(folder) / CA_KEY).read_bytes(), password=None)
    except (ValueError, TypeError) as error:
        raise TlsError(f"the plant CA in {folder} cannot be read ({error})") from error
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        raise TlsError(f"{Path(folder) / CA_KEY} does not belong to {Path(folder) / CA_CERT}")
    if cert.not_valid_after_utc <= dt.datetime.now(dt.timezone.utc):
        raise TlsError(f"the plant CA in {Path(folder) / CA_CERT} expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    return key, cert


def fingerprint(path: Path) -> str:
    """SHA-256 fingerprint of the first certificate in a PEM file, as AA:BB:… (what tablets show)."""
    cert = x509.load_pem_x509_certificate(Path(path).read_bytes())
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, *, private: bool = False) -> Path:
    """Replace path atomically; a private file is mode 0600 from its first byte."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    os.fchmod(fd, 0o600 if private else 0o644)  # whatever the umask says
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return path
