"""HTTPS on the plant LAN: the plant CA, the server certificate, the `tls` commands and gunicorn serving them.

Real files in tmp_path, the real `cryptography` library and real TLS handshakes on 127.0.0.1: a client that
trusts only plant-ca.crt must accept the server for each of its names, and one with the system CAs must not.
"""
import contextlib
import datetime as dt
import ipaddress
import json
import os
import socket
import ssl
import stat
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store

from app.cli_tls import tls_cli
from app.services.access import tls
from tests.helpers.gunicorn import Gunicorn

HOSTS = ["127.0.0.1", "localhost", "floorbook.plant.lan"]


@pytest.fixture
def issued(tmp_path) -> tuple[Path, Path, Path]:
    """A plant CA and a server certificate for HOSTS in tmp_path/tls: (CA cert, server cert, server key)."""
    folder = tmp_path / "tls"
    ca = tls.create_authority(folder, "Test plant CA", 3650)
    cert, key = tls.issue_server_certificate(folder, HOSTS, 397)
    return ca, cert, key


def common_name(cert: x509.Certificate) -> str:
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def load_chain(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


@contextlib.contextmanager
def tls_server(cert: Path, key: Path) -> Iterator[int]:
    """A TLS server on 127.0.0.1 answering each handshake with b"floorbook"; yields its port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                connection.settimeout(5)
                with context.wrap_socket(connection, server_side=True) as secure:
                    secure.sendall(b"floorbook")
            except (ssl.SSLError, OSError):
                connection.close()  # the client refused the certificate: that is its business

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def handshake(port: int, server_hostname: str, context: ssl.SSLContext) -> bytes:
    """Connect to 127.0.0.1:port as server_hostname; the bytes the server sent after the handshake."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=server_hostname) as secure:
            return secure.recv(100)


def test_authority_is_a_p256_ca_limited_to_signing_certificates(tmp_path):
    """plant-ca.crt: self-signed, CA with path length 0, keyCertSign+cRLSign, both critical, with an SKI."""
    path = tls.create_authority(tmp_path, "Acme plant CA", 3650)
    assert path == tmp_path / "plant-ca.crt" and (tmp_path / "plant-ca.key").exists()
    ca = x509.load_pem_x509_certificate(path.read_bytes())
    assert ca.subject == ca.issuer and common_name(ca) == "Acme plant CA"
    ca.verify_directly_issued_by(ca)
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey) and ca.public_key().curve.name == "secp256r1"
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign and not usage.value.digital_signature
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(ca.public_key())
    assert dt.timedelta(days=3649) < ca.not_valid_after_utc - ca.not_valid_before_utc <= dt.timedelta(days=3651)


def test_server_certificate_names_every_host_and_is_only_for_tls_servers(issued):
    """SANs (IP as IPAddress, names as DNSName), serverAuth, not a CA, AKI = the CA's SKI, chain = [server, CA]."""
    ca_path, cert_path, _ = issued
    ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
    chain = load_chain(cert_path)
    assert len(chain) == 2 and chain[1] == ca
    server = chain[0]
    server.verify_directly_issued_by(ca)
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "floorbook.plant.lan"]
    assert server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.SERVER_AUTH])
    constraints = server.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca is False
    usage = server.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign
    aki = server.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert server.not_valid_after_utc - server.not_valid_before_utc <= dt.timedelta(days=397, minutes=5)
    assert server.not_valid_after_utc - dt.datetime.now(dt.timezone.utc) > dt.timedelta(days=396)
    # RFC 5280 path validation as a strict verifier does it, for each name
    verifier = PolicyBuilder().store(Store([ca])).build_server_verifier(x509.DNSName("floorbook.plant.lan"))
    assert verifier.verify(server, [])[-1] == ca
    ip_verifier = PolicyBuilder().store(Store([ca])).build_server_verifier(
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    assert ip_verifier.verify(server, [])[0] == server


def test_handshake_succeeds_trusting_only_the_plant_ca_and_fails_with_system_cas(issued):
    """A client with cafile=plant-ca.crt and hostname checks accepts every host; the system CAs do not."""
    ca_path, cert_path, key_path = issued
    plant_only = ssl.create_default_context(cafile=str(ca_path))
    assert plant_only.check_hostname and plant_only.verify_mode == ssl.CERT_REQUIRED
    with tls_server(cert_path, key_path) as port:
        for host in HOSTS:
            assert handshake(port, host, plant_only) == b"floorbook", host
        with pytest.raises(ssl.SSLCertVerificationError, match="mismatch|doesn't match|not valid for"):
            handshake(port, "other.plant.lan", plant_only)
        with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
            handshake(port, "localhost", ssl.create_default_context())


def test_reissued_server_certificate_is_trusted_by_the_same_ca(issued):
    """Renewal: a second server certificate from the same CA is accepted by a tablet that trusts only the CA."""
    ca_path, cert_path, _ = issued
    before = load_chain(cert_path)[0]
    cert_path, key_path = tls.issue_server_certificate(ca_path.parent, ["192.168.50.20", "fd00::20"], 30)
    after = load_chain(cert_path)[0]
    assert after.serial_number != before.serial_number and after.public_key() != before.public_key()
    san = after.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("192.168.50.20"),
                                                        ipaddress.ip_address("fd00::20")]
    with tls_server(cert_path, key_path) as port:
        assert handshake(port, "192.168.50.20", ssl.create_default_context(cafile=str(ca_path))) == b"floorbook"


@pytest.mark.parametrize("bad", ["floor book", "-floorbook.lan", "floorbook_lan", "https://floorbook.lan",
                                 "192.168.1.300", "a..b", "", "x" * 64 + ".lan"])
def test_bad_host_is_named_with_what_is_expected(tmp_path, bad):
    """A host that is neither an IP address nor a DNS name is refused by name; nothing is written."""
    tls.create_authority(tmp_path, "CA", 30)
    with pytest.raises(tls.TlsError) as error:
        tls.issue_server_certificate(tmp_path, ["localhost", bad], 30)
    assert repr(bad) in str(error.value) and "IPv4" in str(error.value) and "DNS name" in str(error.value)
    assert not (tmp_path / "server.crt").exists() and not (tmp_path / "server.key").exists()


def test_no_hosts_and_too_many_days_are_refused(tmp_path):
    """No host at all, or more than Apple's 397 days, is a clear error."""
    tls.create_authority(tmp_path, "CA", 3650)
    with pytest.raises(tls.TlsError, match="at least one host"):
        tls.issue_server_certificate(tmp_path, [], 30)
    with pytest.raises(tls.TlsError, match="between 1 and 397.*Apple"):
        tls.issue_server_certificate(tmp_path, ["localhost"], 398)


def test_missing_ca_names_the_file_and_the_command(tmp_path):
    """Without a CA the error says which file is missing and which command creates it."""
    with pytest.raises(tls.TlsError) as error:
        tls.issue_server_certificate(tmp_path, ["localhost"], 30)
    assert str(tmp_path / "plant-ca.crt") in str(error.value) and "flask --app wsgi tls ca" in str(error.value)


def test_existing_ca_is_not_overwritten_unless_forced(tmp_path):
    """A second create_authority names the existing file and leaves the CA alone; force=True replaces it."""
    first = tls.create_authority(tmp_path, "CA", 3650).read_bytes()
    key = (tmp_path / "plant-ca.key").read_bytes()
    with pytest.raises(tls.TlsError, match=f"{tmp_path / 'plant-ca.crt'} already exists.*force"):
        tls.create_authority(tmp_path, "CA", 3650)
    assert (tmp_path / "plant-ca.crt").read_bytes() == first and (tmp_path / "plant-ca.key").read_bytes() == key
    (tmp_path / "plant-ca.crt").unlink()  # a lone key is protected too
    with pytest.raises(tls.TlsError, match="plant-ca.key already exists"):
        tls.create_authority(tmp_path, "CA", 3650)
    assert tls.create_authority(tmp_path, "CA", 3650, force=True).read_bytes() != first
    assert (tmp_path / "plant-ca.key").read_bytes() != key


def test_private_keys_are_0600_whatever_the_umask(tmp_path):
    """plant-ca.key and server.key are owner-only even under umask 000; certificates are readable."""
    old = os.umask(0)
    try:
        tls.create_authority(tmp_path, "CA", 3650)
        tls.issue_server_certificate(tmp_path, ["localhost"], 30)
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == {"plant-ca.key": 0o600, "server.key": 0o600, "plant-ca.crt": 0o644, "server.crt": 0o644}


def test_cli_creates_ca_and_server_certificate_in_the_instance_folder(app):
    """`tls ca` then `tls server HOST…` write into INSTANCE/tls and print the env lines and the fingerprint."""
    runner = app.test_cli_runner()
    folder = Path(app.instance_path).resolve() / "tls"
    created = runner.invoke(tls_cli, ["ca", "--name", "Press shop CA"])
    assert created.exit_code == 0, created.output
    ca = x509.load_pem_x509_certificate((folder / "plant-ca.crt").read_bytes())
    assert common_name(ca) == "Press shop CA"
    ca_print = ca.fingerprint(hashes.SHA256()).hex(":").upper()
    assert ca_print in created.output

    served = runner.invoke(tls_cli, ["server", *HOSTS])
    assert served.exit_code == 0, served.output
    assert f"FLOORBOOK_TLS_CERT={folder / 'server.crt'} FLOORBOOK_TLS_KEY={folder / 'server.key'}" in served.output
    assert ca_print in served.output and len(ca_print) == 95
    san = load_chain(folder / "server.crt")[0].extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.DNSName) == ["localhost", "floorbook.plant.lan"]

    again = runner.invoke(tls_cli, ["ca"])
    assert again.exit_code == 1 and "plant-ca.crt already exists" in again.output and "--force" in again.output
    bad = runner.invoke(tls_cli, ["server", "localhost", "floor_book"])
    assert bad.exit_code == 1 and "'floor_book' is not a valid host" in bad.output and "Traceback" not in bad.output
    long = runner.invoke(tls_cli, ["server", "localhost", "--days", "398"])
    assert long.exit_code == 1 and "397" in long.output
    assert runner.invoke(tls_cli, ["server"]).exit_code == 2  # HOST is required


def test_cli_server_without_ca_says_how_to_make_one(app, tmp_path):
    """`tls server --dir EMPTY HOST` names the missing CA file and the command to create it."""
    empty = tmp_path / "empty"
    result = app.test_cli_runner().invoke(tls_cli, ["server", "--dir", str(empty), "localhost"])
    assert result.exit_code == 1
    assert f"{empty / 'plant-ca.crt'} not found" in result.output
    assert f"flask --app wsgi tls ca --dir {empty}" in result.output


def test_gunicorn_serves_healthz_over_https_with_the_issued_certificate(database_url, issued, tmp_path):
    """gunicorn -c gunicorn.conf.py with FLOORBOOK_TLS_CERT/KEY answers /healthz to a client trusting the plant CA."""
    ca_path, cert_path, key_path = issued
    server = Gunicorn(database_url, tmp_path, GUNICORN_THREADS="2", FLOORBOOK_TLS_CERT=str(cert_path),
                      FLOORBOOK_TLS_KEY=str(key_path)).start()
    port = server.port
    try:
        for host in ("127.0.0.1", "localhost"):
            response = urllib.request.urlopen(f"https://{host}:{port}/healthz", timeout=10,
                                              context=ssl.create_default_context(cafile=str(ca_path)))
            assert response.status == 200 and json.loads(response.read()) == {"status": "ok", "db": "ok"}
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", timeout=10,
                                   context=ssl.create_default_context())
    finally:
        server.stop()
