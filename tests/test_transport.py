"""Transport and cookies (issue 11, finding 7): HSTS over TLS only, Secure __Host- cookies on an HTTPS site, CSP
base-uri 'none', board tokens kept as hashes, and make run's kept secret key and loopback bind.

HSTS and the cookies are checked on the test client and on a real gunicorn: serving TLS itself with a plant
certificate, and serving plain HTTP behind a proxy it trusts (FORWARDED_ALLOW_IPS) or does not.
"""
import re
import http.client
import os
import runpy
import socket
import ssl
import stat
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from app import create_app
from app.canonical import sha256_hex
from app.config import ROOT, Config, DevelopmentConfig, TestingConfig
from app.extensions import db as _db
from app.models import BoardScreen
from app.services.access import tls
from app.services.board import boards
from app.services.core.audit import Actor
from app.transport import HSTS
from tests.helpers.builders import Client, sign_in
from tests.helpers.gunicorn import Gunicorn

MIGRATIONS = str(ROOT / "migrations")
HTTPS = "https://localhost"
SAME_ORIGIN = {"Referer": f"{HTTPS}/login"}  # what a browser sends over https (Flask-WTF checks it there)


def set_cookies(response) -> dict[str, str]:
    """Each Set-Cookie header of a response by cookie name."""
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


@pytest.fixture(params=[{"SECURE_COOKIES": True}, {"PUBLIC_URL": "https://floorbook.plant.example"},
                        {"TLS_CERT": "/etc/floorbook/server.crt"}], ids=["secure-cookies", "public-url", "tls"])
def https_app(request, database_url, tmp_path, app):
    """The app as an HTTPS site, set so in each of the three ways, on the test's database."""
    secure = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, INSTANCE_PATH=str(tmp_path / "https"),
                        **request.param)
    secure.test_client_class = Client
    with secure.app_context():
        yield secure
        _db.session.remove()
        _db.engine.dispose()


# ---- HSTS -----------------------------------------------------------------------------------

def test_hsts_only_on_requests_that_came_over_tls(client):
    """HSTS (a year, no preload) over https; never over plain HTTP, whatever X-Forwarded-Proto a client sends."""
    assert client.get("/login", base_url=HTTPS).headers["Strict-Transport-Security"] == "max-age=31536000"
    assert client.get("/healthz", base_url=HTTPS).headers["Strict-Transport-Security"] == HSTS
    assert "Strict-Transport-Security" not in client.get("/login").headers
    assert "Strict-Transport-Security" not in client.get("/login", headers={"X-Forwarded-Proto": "https"}).headers


@pytest.fixture
def certificate(tmp_path) -> tuple[Path, Path, Path]:
    """A plant CA and a server certificate for 127.0.0.1 and localhost: (CA cert, server cert, server key)."""
    folder = tmp_path / "tls"
    ca = tls.create_authority(folder, "Test plant CA", 3650)
    cert, key = tls.issue_server_certificate(folder, ["127.0.0.1", "localhost"], 397)
    return ca, cert, key


def test_gunicorn_serving_tls_sends_hsts_and_host_prefixed_secure_cookies(database_url, certificate, tmp_path):
    """gunicorn with FLOORBOOK_TLS_CERT/KEY: HSTS on every response, and the session cookie is __Host-, Secure,
    HttpOnly, Path=/ without Domain."""
    ca, cert, key = certificate
    server = Gunicorn(database_url, tmp_path, GUNICORN_THREADS="2", FLOORBOOK_TLS_CERT=str(cert),
                      FLOORBOOK_TLS_KEY=str(key)).start()
    try:
        context = ssl.create_default_context(cafile=str(ca))
        for path in ("/login", "/healthz", "/static/css/app.css", "/no-such-page"):
            connection = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=10, context=context)
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            assert response.getheader("Strict-Transport-Security") == HSTS, path
            if path == "/login":
                cookie = next(c for c in response.headers.get_all("Set-Cookie") if c.startswith("__Host-session="))
                attributes = [part.strip().lower() for part in cookie.split(";")[1:]]
                assert {"secure", "httponly", "path=/"} <= set(attributes)
                assert not any(part.startswith("domain") for part in attributes)
            connection.close()
    finally:
        server.stop()


def raw_head(port: int, path: str, headers: dict[str, str]) -> str:
    """The status line and headers gunicorn answers a plain-HTTP GET with (the body is not waited for)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{lines}Connection: close\r\n\r\n".encode())
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    return received.split(b"\r\n\r\n")[0].decode()


def test_behind_a_trusted_proxy_hsts_follows_its_forwarded_proto(database_url, plant, users, tmp_path):
    """Plain HTTP from the proxy gunicorn trusts (FORWARDED_ALLOW_IPS): HSTS when it says https, on pages and
    on a board stream handed to the stream process; none without the header."""
    token = boards.create_screen("Hall TV", None, Actor(users.admin.id)).token
    server = Gunicorn(database_url, tmp_path, GUNICORN_THREADS="2", FORWARDED_ALLOW_IPS="127.0.0.1").start()
    try:
        forwarded = {"X-Forwarded-Proto": "https"}
        assert f"Strict-Transport-Security: {HSTS}" in raw_head(server.port, "/healthz", forwarded)
        stream = raw_head(server.port, f"/board/{token}/events", forwarded)
        assert "text/event-stream" in stream and f"Strict-Transport-Security: {HSTS}" in stream
        assert "Strict-Transport-Security" not in raw_head(server.port, "/healthz", {})
        assert "Strict-Transport-Security" not in raw_head(server.port, f"/board/{token}/events", {})
    finally:
        server.stop()


def test_an_untrusted_client_cannot_claim_tls(database_url, tmp_path):
    """X-Forwarded-Proto: https from an address gunicorn does not trust as a proxy gets no HSTS."""
    server = Gunicorn(database_url, tmp_path, GUNICORN_THREADS="2", FORWARDED_ALLOW_IPS="192.0.2.10").start()
    try:
        head = raw_head(server.port, "/healthz", {"X-Forwarded-Proto": "https"})
        assert head.startswith("HTTP/1.1 200") and "Strict-Transport-Security" not in head
    finally:
        server.stop()


# ---- cookies --------------------------------------------------------------------------------

def test_https_site_cookies_are_secure_and_host_prefixed(https_app, users):
    """On an HTTPS site the session and device cookies are __Host-, Secure, HttpOnly, Path=/, no Domain, and the
    device cookie a tablet is given is the one that lets badge sign-in work there."""
    assert (https_app.config["SESSION_COOKIE_NAME"], https_app.config["DEVICE_COOKIE"]) == (
        "__Host-session", "__Host-fb_device")
    admin = sign_in(https_app.test_client(), users.admin)
    response = admin.post_form("/admin/devices", {"name": "Press 1 tablet"}, base_url=HTTPS, headers=SAME_ORIGIN)
    assert response.status_code == 303
    cookies = set_cookies(response)
    for name in ("__Host-session", "__Host-fb_device"):
        attributes = [part.strip().lower() for part in cookies[name].split(";")[1:]]
        assert {"secure", "httponly", "path=/"} <= set(attributes), cookies[name]
        assert not any(part.startswith("domain") for part in attributes)
    assert "session" not in cookies and "fb_device" not in cookies
    tablet = https_app.test_client()
    tablet.set_cookie("__Host-fb_device", admin.get_cookie("__Host-fb_device").value)
    signed_in = tablet.post_form("/login/badge", {"badge": "7001", "pin": "1357"}, base_url=HTTPS, headers=SAME_ORIGIN)
    assert signed_in.status_code == 302


def test_plain_http_development_keeps_plain_cookies(app, client, users):
    """Without HTTPS configured the cookies keep their plain names and are not Secure, so http:// works."""
    assert (app.config["SESSION_COOKIE_NAME"], app.config["DEVICE_COOKIE"]) == ("session", "fb_device")
    admin = sign_in(client, users.admin)
    response = admin.post_form("/admin/devices", {"name": "Press 1 tablet"})
    cookies = set_cookies(response)
    assert response.status_code == 303 and {"session", "fb_device"} <= set(cookies)
    assert not any("secure" in part.strip().lower() for header in cookies.values() for part in header.split(";"))


def test_a_tablet_registered_before_https_keeps_its_registration(https_app, users, tablet):
    """A device cookie under the plain name (set before the prefix) still opens badge sign-in, and is set again
    under the __Host- name while the old one is removed."""
    device_client = https_app.test_client()
    device_client.set_cookie("fb_device", tablet[1])
    response = device_client.get("/login/badge", base_url=HTTPS)
    assert response.status_code == 200 and "Press 1 tablet" in response.get_data(as_text=True)
    cookies = set_cookies(response)
    assert cookies["__Host-fb_device"].startswith(f"__Host-fb_device={tablet[1]};") and "Secure" in cookies[
        "__Host-fb_device"]
    assert cookies["fb_device"].startswith("fb_device=;") and "Max-Age=0" in cookies["fb_device"]
    assert device_client.get_cookie("fb_device") is None
    signed_in = device_client.post_form("/login/badge", {"badge": "7001", "pin": "1357"}, base_url=HTTPS,
                                        headers=SAME_ORIGIN)
    assert signed_in.status_code == 302


# ---- CSP ------------------------------------------------------------------------------------

def test_csp_forbids_base_elements(client):
    """The CSP says base-uri 'none' (compliance.md SEC-CSP-1): no <base> can re-point the pages' relative URLs."""
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert "base-uri 'none'" in policy and "base-uri 'self'" not in policy


# ---- board tokens ---------------------------------------------------------------------------

def test_board_token_is_kept_only_as_its_hash(client, plant, users, db):
    """The database holds the kiosk token's sha256, never the token: the shown URL opens the board, and a URL
    made of what the database holds does not."""
    screen, token = boards.create_screen("Hall TV", None, Actor(users.admin.id))
    row = db.session.execute(text("SELECT * FROM board_screen WHERE id = :id"), {"id": screen.id}).mappings().one()
    assert row["token_sha256"] == sha256_hex(token) and token not in [str(value) for value in row.values()]
    assert "token" not in row
    assert client.get(f"/board/{token}").status_code == 200
    for path in ("", "/fragment", "/events"):
        assert client.get(f"/board/{row['token_sha256']}{path}").status_code == 404


def test_upgrade_hashes_existing_tokens_so_tv_urls_keep_working(app, client, plant, db, capfd):
    """A plant upgraded from the plain-token schema: each TV's old URL opens its board; only the hash is kept.
    The way back refuses while a screen exists, since no token can be recovered from its hash."""
    from flask_migrate import downgrade, upgrade

    db.session.remove()
    downgrade(directory=MIGRATIONS, revision="b11a0c4d0e01")
    with db.engine.begin() as connection:
        connection.execute(text("INSERT INTO board_screen (name, token, created_at) "
                                "VALUES ('Old TV', 'a-kiosk-token-from-before-hashing', CURRENT_TIMESTAMP)"))
    upgrade(directory=MIGRATIONS)
    db.session.remove()
    kept = db.session.scalar(select(BoardScreen.token_sha256).where(BoardScreen.name == "Old TV"))
    assert kept == sha256_hex("a-kiosk-token-from-before-hashing")
    assert client.get("/board/a-kiosk-token-from-before-hashing").status_code == 200
    db.session.remove()
    with pytest.raises(SystemExit):  # flask_migrate logs the migration's RuntimeError and exits 1
        downgrade(directory=MIGRATIONS, revision="b11a0c4d0e01")
    refusal = capfd.readouterr().err
    assert "cannot downgrade below b11b0a4d70e2" in refusal and "which no one can recover" in refusal
    db.session.remove()
    assert client.get("/board/a-kiosk-token-from-before-hashing").status_code == 200


def test_the_demo_prints_a_working_board_url_on_every_run(app, client, db):
    """Each `flask demo` (each make run) prints a kiosk URL that opens the demo board; the one printed before
    stops working, and it stays one screen."""
    runner = app.test_cli_runner()
    urls = []
    for _ in range(2):
        result = runner.invoke(args=["demo", "--days", "0", "--base-url", "http://localhost:8000"])
        assert result.exit_code == 0, result.output
        urls.append(re.search(r"Board screen .*: http://localhost:8000(\S+)", result.output).group(1))
    assert urls[0] != urls[1] and all(url.startswith("/board/") for url in urls)
    db.session.remove()
    assert client.get(urls[1]).status_code == 200
    assert client.get(urls[0]).status_code == 404
    assert db.session.scalar(select(func.count(BoardScreen.id))) == 1


# ---- make run: secret key and bind ----------------------------------------------------------

def test_development_secret_is_made_once_kept_0600_and_reused(database_url, tmp_path):
    """Without SECRET_KEY the development app makes a random key in instance/secret_key (0600) and every later
    start (every process of make run) uses the same; an explicit SECRET_KEY wins; production still refuses."""
    instance = tmp_path / "instance"
    settings = {"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(instance), "SECRET_KEY": None}
    first = create_app(DevelopmentConfig, **settings).config["SECRET_KEY"]
    kept = instance / "secret_key"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert len(first) >= 48 and first != "dev-only-not-secret" and kept.read_text().strip() == first
    assert create_app(DevelopmentConfig, **settings).config["SECRET_KEY"] == first
    assert create_app(DevelopmentConfig, **{**settings, "SECRET_KEY": "given"}).config["SECRET_KEY"] == "given"
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        create_app(Config, **{**settings, "INSTANCE_PATH": str(tmp_path / "production")})
    assert not (tmp_path / "production" / "secret_key").exists()


def test_gunicorn_binds_to_loopback_unless_told_otherwise(monkeypatch):
    """gunicorn.conf.py binds 127.0.0.1 by default; HOST chooses another address."""
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.setenv("PORT", "8000")
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["bind"] == "127.0.0.1:8000"
    monkeypatch.setenv("HOST", "0.0.0.0")
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["bind"] == "0.0.0.0:8000"


def test_make_run_serves_loopback_by_default():
    """`make run` hands gunicorn HOST=127.0.0.1 unless HOST is given."""
    env = {key: value for key, value in os.environ.items() if key not in ("HOST", "FLOORBOOK_TLS_CERT")}
    dry = subprocess.run(["make", "-n", "run"], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert "HOST=127.0.0.1 PORT=8000" in dry.stdout and "--base-url http://localhost:8000" in dry.stdout
    told = subprocess.run(["make", "-n", "run", "HOST=0.0.0.0"], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True)
    assert "HOST=0.0.0.0 PORT=8000" in told.stdout
