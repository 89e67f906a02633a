"""Sign-in views: password for everyone, badge + PIN for operators on a registered tablet."""
from flask import flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user
from flask_wtf.csrf import CSRFError, generate_csrf

from app.auth import bp
from app.auth.schemas import BadgeLoginSchema, LogoutSchema, PasswordChangeSchema, PasswordLoginSchema
from app.errors import CSRF_MESSAGE, error_response
from app.services.core.errors import DomainError
from app.extensions import db
from app.inputs import load_form
from app.security import current_actor, end_session, landing, safe_next, sign_in_page
from app.services.access import auth as auth_service
from app.services.access import outbox_tokens
from app.services.access.lockout import LockedOut, Source
from app.services.core import audit
from app.services.core.audit import Actor


def _source() -> Source:
    """Where this attempt comes from, for the lockout: the registered tablet, else the client address."""
    return Source.of(g.device.id if g.device else None, request.remote_addr)


def _start_session(user, method: str):
    session.clear()
    login_user(user)
    session["tablet"] = g.device is not None
    session["device_id"] = g.device.id if g.device else None  # revoking this tablet ends the session (app.security)
    # The CSRF secret is made now, in the sign-in response: requests the tablet sends at the same time
    # (the service worker fetching pages) would otherwise each make their own and overwrite the page's.
    generate_csrf()
    audit.record(Actor(user.id, g.device.id if g.device else None), "auth.login", "user", user.id,
                 after={"method": method})
    db.session.commit()
    return redirect(safe_next(request.form.get("next"), landing()))


def _login_page(template: str, error: DomainError | None = None):
    status = error.status if error else 200
    return render_template(template, error=error, next=request.args.get("next") or request.form.get("next"),
                           reason=request.args.get("reason")), status


_SIGN_IN_FORMS = {"auth.login_post": "auth/login.html", "auth.badge_login_post": "auth/badge.html"}


@bp.errorhandler(CSRFError)
def expired_form(error: CSRFError):
    """A sign-in form that went stale (another tab signed in or out) is shown again, ready to use."""
    template = _SIGN_IN_FORMS.get(request.endpoint)
    if template is None:
        return error_response(400, "csrf", CSRF_MESSAGE)
    return _login_page(template, DomainError("This sign-in page had expired. Sign in again.", status=400))


@bp.get("/login")
def login():
    """The password sign-in page (badge + PIN is offered on registered tablets)."""
    return _login_page("auth/login.html")


@bp.post("/login")
def login_post():
    """Check username and password."""
    try:
        data = load_form(PasswordLoginSchema())
        user = auth_service.authenticate_password(data["username"], data["password"], _source())
    except DomainError as error:
        return _login_page("auth/login.html", error)
    return _start_session(user, "password")


@bp.get("/login/badge")
def badge_login():
    """Badge + PIN sign-in page; only a registered tablet may use it."""
    if g.device is None:
        return _login_page("auth/badge.html", auth_service.AuthError(
            "This tablet is not registered for badge sign-in. Sign in with a password, or ask a supervisor to register it.",
            status=403))
    return _login_page("auth/badge.html")


@bp.post("/login/badge")
def badge_login_post():
    """Check badge and PIN on a registered device."""
    try:
        data = load_form(BadgeLoginSchema())
        user = auth_service.authenticate_badge(data["badge"], data["pin"], g.device)
    except DomainError as error:
        return _login_page("auth/badge.html", error)
    return _start_session(user, "badge_pin")


@bp.post("/logout")
@login_required
def logout():
    """Sign out, ending every session of this user server-side."""
    data = load_form(LogoutSchema())
    waiting = outbox_tokens.waiting_from(data["waiting"])  # what this person left in the outbox
    auth_service.end_all_sessions(current_user)
    if g.device is not None:
        outbox_tokens.record_sign_out(current_user, g.device, waiting)
    audit.record(current_actor(), "auth.logout", "user", current_user.id,
                 after={"left_waiting": len(waiting)} if g.device is not None else None)
    db.session.commit()
    end_session()
    response = redirect(url_for("auth.badge_login" if g.device else "auth.login", reason=data["reason"]))
    # The browser's HTTP cache goes; its storage stays: the outbox there may hold changes not sent yet.
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


@bp.get("/account/password")
@login_required
def password_form():
    """The change-password page."""
    return render_template("auth/password.html", error=None)


@bp.post("/account/password")
@login_required
def password_change():
    """Change the password; every session (this one included) ends. Too many wrong current passwords end
    this session (whoever sits at it does not know its password) and lock further tries from here."""
    try:
        data = load_form(PasswordChangeSchema())
        auth_service.change_password(current_user, data["current_password"], data["new_password"], current_actor(),
                                     request.remote_addr)
    except LockedOut as error:
        end_session()
        signed_out = LockedOut(f"You are signed out: the current password was wrong too many times. {error.message}")
        return _login_page("auth/badge.html" if g.device else "auth/login.html", signed_out)
    except DomainError as error:
        return render_template("auth/password.html", error=error), error.status
    end_session()
    flash("Password changed: every session of yours has ended. Sign in again.")
    return redirect(sign_in_page())
