"""Transport: HSTS over TLS, cookies that only travel over HTTPS on an HTTPS site, and make run's secret key.

A request came over TLS when its WSGI scheme is https: gunicorn serving TLS itself (FLOORBOOK_TLS_CERT), or a
proxy in front that gunicorn trusts (FORWARDED_ALLOW_IPS in gunicorn.conf.py) saying X-Forwarded-Proto: https.
The app never reads X-Forwarded-Proto itself, so a client cannot claim a TLS it does not have, and HSTS never
goes out over plain HTTP (where a browser would ignore it anyway). No preload: a plant's host names are not for
the browsers' built-in list, and leaving it is months of work.

Whether the site is HTTPS is decided once, at start-up, from the configuration: gunicorn serves TLS, or
FLOORBOOK_PUBLIC_URL is https://, or FLOORBOOK_SECURE_COOKIES=1 (TLS ends at a proxy). Then the session and
device cookies are Secure and named with the __Host- prefix, which a browser accepts only from a secure origin,
with Path=/ and no Domain: another host of the plant's domain cannot set or overwrite them. Plain-HTTP
development keeps the plain names. The names are set here, in the app's config (SESSION_COOKIE_NAME,
DEVICE_COOKIE), and everything that reads or sets a cookie takes them from there.
"""
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.middleware.proxy_fix import ProxyFix

HSTS = "max-age=31536000"  # a year; no includeSubDomains: other hosts of the plant's domain are not ours
HOST_PREFIX = "__Host-"
_COOKIE_NAMES = ("SESSION_COOKIE_NAME", "DEVICE_COOKIE")


def https_site(config) -> bool:
    """Whether people reach this site over HTTPS, as the configuration says."""
    public = urlsplit(config.get("PUBLIC_URL") or "")
    return bool(config.get("TLS_CERT") or config.get("SECURE_COOKIES") or public.scheme == "https")


def configure_cookies(app: Flask) -> None:
    """Secure, __Host- prefixed cookies (Path=/, no Domain) on an HTTPS site; the plain names elsewhere."""
    secure = https_site(app.config)
    app.config["SESSION_COOKIE_SECURE"] = secure
    for key in _COOKIE_NAMES:
        plain = app.config[key].removeprefix(HOST_PREFIX)
        app.config[key] = HOST_PREFIX + plain if secure else plain
    if secure:
        app.config.update(SESSION_COOKIE_PATH="/", SESSION_COOKIE_DOMAIN=None)


def strict_transport(response):
    """HSTS on every response to a request that came over TLS."""
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = HSTS
    return response


def _adopt_plain_device_cookie() -> None:
    # A tablet registered before the site's cookies took the prefix still sends its device cookie under the
    # plain name: read it as the prefixed one, and set it again under that name (below), so that no tablet of
    # a plant that already served HTTPS must be registered again.
    name = current_app.config["DEVICE_COOKIE"]
    plain = name.removeprefix(HOST_PREFIX)
    if name == plain or name in request.cookies or plain not in request.cookies:
        return
    g.adopted_device_cookie = request.cookies[plain]
    request.cookies = ImmutableMultiDict({**request.cookies.to_dict(), name: g.adopted_device_cookie})


def _reissue_adopted_device_cookie(response):
    token = g.pop("adopted_device_cookie", None)
    if token is not None:
        set_device_cookie(response, token)
        response.delete_cookie(current_app.config["DEVICE_COOKIE"].removeprefix(HOST_PREFIX))
    return response


def set_device_cookie(response, token: str) -> None:
    """Give this browser a registered tablet's device cookie (long-lived, HttpOnly, Secure on an HTTPS site)."""
    config = current_app.config
    response.set_cookie(config["DEVICE_COOKIE"], token, max_age=config["DEVICE_COOKIE_DAYS"] * 86400, path="/",
                        httponly=True, samesite="Lax", secure=config["SESSION_COOKIE_SECURE"])


def kept_secret_key(path: Path) -> str:
    """The secret key kept in path (mode 0600), made at random the first time: what `make run` signs sessions
    with when SECRET_KEY is unset, the same for every process and every run. Never used in production, which
    refuses to start without SECRET_KEY."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # whatever the umask says
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # never replaces: processes starting together all read the first one made
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable secret key (at least 32 characters expected): "
                           "delete it to have a new one made, or export SECRET_KEY")
    return key


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies (FLOORBOOK_TRUSTED_PROXIES), take the client's address from the
    X-Forwarded-For entry the nearest of them added, so sign-in throttling and the security log see the
    person's computer, not the proxy. Off by default: without a proxy that header is whatever a client
    typed, and believing it would let anyone pose as any address."""
    proxies = app.config.get("TRUSTED_PROXIES") or 0
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=0, x_host=0, x_port=0, x_prefix=0)


def register_transport(app: Flask) -> None:
    """Settle the cookies' names and flags, and bind HSTS (before app.security, which reads the device cookie)."""
    configure_cookies(app)
    trust_proxies(app)
    app.before_request(_adopt_plain_device_cookie)
    app.after_request(_reissue_adopted_device_cookie)
    app.after_request(strict_transport)
