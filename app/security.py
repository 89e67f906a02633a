"""Request-level security: user loading, device cookie, roles, idle timeout, headers."""
from datetime import datetime, timedelta
from functools import wraps
from typing import Callable
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, request, session, url_for
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError, generate_csrf

from app.database import end_transaction, read_only
from app.extensions import csrf, db, login_manager
from app.htmx import redirect_to
from app.models import User
from app.models.types import utcnow
from app.services.core import security_log
from app.services.core.audit import Actor
from app.roles import FILL_ROLES
from app.services.access import outbox_tokens
from app.services.access.devices import device_for_token
from app.services.access.scope import Viewer

OUTBOX_HEADER = "X-Floorbook-Outbox"
# Where each role's work is, in this order for a person holding several (after sign-in and at /).
LANDINGS = (("supervisor", "deviations.index"), ("inspector", "review.queue"), ("operator", "floor.home"),
            ("auditor", "records.search"), ("admin", "admin.devices"))

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "form-action 'self'; object-src 'none'")


def outbox_replayable(view: Callable) -> Callable:
    """Mark a view the tablet's outbox sends kept changes to: there, a request carrying an outbox token is
    authenticated by it (with the tablet's device cookie) instead of by the session cookie."""
    view.accepts_outbox_token = True
    return view


def _is_replay(req) -> bool:
    view = current_app.view_functions.get(req.endpoint or "")
    return bool(req.headers.get(OUTBOX_HEADER)) and getattr(view, "accepts_outbox_token", False)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    # The id carries the session generation; a bumped generation ends the session server-side.
    if _is_replay(request):
        return None  # a replay is its author's (the token), not whoever is signed in on the tablet now
    try:
        pk, generation = (int(part) for part in user_id.split(":"))
    except ValueError:
        return None
    user = db.session.get(User, pk)
    if user is None or not user.active or user.session_generation != generation:
        return None
    return user


@login_manager.request_loader
def _load_outbox_bearer(req) -> User | None:
    # A replay to an outbox endpoint: its token, issued on the tablet whose device cookie came with it.
    if not _is_replay(req):
        return None
    bearer = outbox_tokens.verify(req.headers[OUTBOX_HEADER], g.get("device"))
    if bearer is None:
        return None
    if not outbox_tokens.reaches(bearer, req.headers.get("Idempotency-Key"), req.path):
        security_log.event("access.refused", "outbox_after_sign_out", account=f"user:{bearer.user.username}")
        return None  # its author signed out on this tablet and did not leave this change waiting
    g.outbox_bearer = True
    return bearer.user


def _foreign_origin() -> str | None:
    """Why a state-changing request did not come from our own pages, or None (SEC-CSRF-2, fetch metadata)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site in ("cross-site", "same-site"):
        return f"Sec-Fetch-Site: {site}"
    origin = request.headers.get("Origin")
    if origin is None:
        return None  # an older browser or a script: the CSRF token decides
    ours = {request.host, urlsplit(current_app.config.get("PUBLIC_URL") or "").netloc}
    return None if urlsplit(origin).netloc in ours - {""} else f"Origin: {origin[:100]}"


def _csrf_unless_outbox():
    # A state change must come from our own pages: fetch metadata first, then the CSRF token. A replay
    # authenticated by its outbox token sends a header no other site can (it needs a CORS preflight).
    if request.method not in current_app.config["WTF_CSRF_METHODS"] or request.endpoint == "static":
        return
    foreign = _foreign_origin()
    if foreign:
        abort(403, f"Refused: this request came from another site ({foreign}). Use Floorbook's own pages.")
    if current_user.is_authenticated and g.get("outbox_bearer"):
        return
    if request.headers.get(OUTBOX_HEADER) and not current_user.is_authenticated:
        abort(401, "This change's sign-in has run out: its author must sign in on this tablet to send it.")
    try:
        csrf.protect()
    except CSRFError as error:
        security_log.event("access.refused", "csrf", reason=error.description)
        raise


def kept_offline_time(device_time):
    """The tablet's time of a change its outbox sends (kept offline); None for a change sent live, which
    the server's clock dates."""
    return device_time if g.get("outbox_bearer") else None


def outbox_token() -> str | None:
    """The token this page's outbox keeps with each change: only on a registered tablet, for someone who
    fills forms (None elsewhere: a browser that is not a tablet sends its changes live)."""
    device = g.get("device")
    if device is None or not current_user.is_authenticated or not current_user.has_role(*FILL_ROLES):
        return None
    return outbox_tokens.issue(current_user, device)


def current_viewer() -> Viewer:
    """Who asks, for object scope: the signed-in user, this tablet, and the station whose work they see
    through it: the one chosen on this registered tablet, else its home station. A browser that is not a
    registered tablet has none (the station picker there widens nothing), and neither does an outbox replay
    beyond the tablet's home (the session that came with it may be someone else's)."""
    device = g.get("device")
    if device is None:
        station_id = None
    elif g.get("outbox_bearer"):
        station_id = device.home_station_id
    else:
        station_id = session.get("station_id") or device.home_station_id
    return Viewer(current_user._get_current_object(), device, station_id)


def landing() -> str:
    """Where the signed-in user's work is."""
    for role, endpoint in LANDINGS:
        if current_user.has_role(role):
            return url_for(endpoint)
    return url_for("auth.password_form")


def sign_in_page(**args) -> str:
    """The sign-in page to offer: badge + PIN first on a registered tablet, the password page elsewhere."""
    return url_for("auth.badge_login" if g.get("device") else "auth.login", **args)


def current_actor() -> Actor:
    """The signed-in user and this request's registered device."""
    user_id = current_user.id if current_user.is_authenticated else None
    device = g.get("device")
    return Actor(user_id, device.id if device else None)


def roles_required(*roles: str) -> Callable:
    """Allow the view only to signed-in users holding one of roles (401 anonymous, 403 otherwise)."""
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and not current_user.has_role(*roles):
                abort(403, "Your role does not allow this.")
            return view(*args, **kwargs)
        return wrapped
    return decorator


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths are followed after sign-in."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def _unauthorized():
    if request.path.startswith("/api/") or OUTBOX_HEADER in request.headers:
        abort(401)  # an outbox replay must keep its change, not follow a redirect it would take for delivery
    target = sign_in_page(next=request.full_path if request.method == "GET" else None)
    return redirect_to(target, code=302)


def end_session() -> None:
    """Sign out of this browser session and start an anonymous one with its CSRF secret already made.

    Made here, in the sign-out response, so that pages the browser loads at the same time (a second
    tab, the sign-in page the sign-out leads to) share one secret instead of each making its own and
    overwriting the others' - which would refuse the sign-in form that follows.
    """
    logout_user()
    session.clear()
    generate_csrf()


def _tablet_gone() -> bool:
    """A session begun on a registered tablet ends when that tablet is revoked (its cookie then finds no
    device) or when the session's cookie turns up with another tablet's."""
    begun_on = session.get("device_id")
    device = g.get("device")
    return begun_on is not None and (device is None or device.id != begun_on)


def _idle_expired() -> bool:
    last = session.get("last_seen")
    if not session.get("tablet") or not last:
        return False
    limit = timedelta(minutes=current_app.config["IDLE_TIMEOUT_MINUTES"])
    return utcnow() - datetime.fromisoformat(last) > limit


# Static files need no database (the service worker fetches the shell at once); /healthz checks the database
# itself and must answer 503 naming it, not fail before its view runs.
NO_DATABASE = frozenset({"static", "health.healthz"})


def _before_request():
    if request.endpoint in NO_DATABASE:
        return None
    read_only(db.session)  # the device, the user and the CSRF check only read: no write lock (_end_reading)
    g.device = device_for_token(request.cookies.get(current_app.config["DEVICE_COOKIE"]))
    if not current_user.is_authenticated or g.get("outbox_bearer"):
        return None  # a replay is judged by its token; the session on the tablet is not touched
    if _tablet_gone():
        end_session()
        return redirect_to(sign_in_page(reason="device"), code=302)
    if _idle_expired():
        end_session()
        return redirect_to(sign_in_page(reason="idle"), code=302)
    session["last_seen"] = utcnow().isoformat()
    return None


def _end_reading():
    # The view begins its own transaction (a write, by default); what was loaded here stays loaded. A view
    # marked reads_first (app.database) goes on reading in this one and leaves it itself before it writes.
    view = current_app.view_functions.get(request.endpoint)
    if request.endpoint not in NO_DATABASE and not getattr(view, "reads_first", False):
        end_transaction(db.session)


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.endpoint != "static" and response.mimetype == "text/html":
        response.vary.add("HX-Request")  # one URL may answer a page or an htmx fragment; caches must not mix them
    if current_user.is_authenticated and request.endpoint != "static":
        # Shared tablets: the next user must not see this user's pages from the cache.
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Floorbook-User"] = str(current_user.id)  # whose copy the service worker keeps
    return response


def register_security(app: Flask) -> None:
    """Bind the hooks to app."""
    login_manager.login_view = "auth.login"
    login_manager.unauthorized_handler(_unauthorized)
    app.before_request(_before_request)
    app.before_request(_csrf_unless_outbox)
    app.before_request(_end_reading)
    app.after_request(_security_headers)

    @app.context_processor
    def _inject():
        return {"current_device": g.get("device"),
                "idle_timeout_minutes": app.config["IDLE_TIMEOUT_MINUTES"], "outbox_token": outbox_token}
