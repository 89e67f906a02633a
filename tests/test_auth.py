"""Sign-in: passwords, badge + PIN on registered tablets, lockout, idle timeout, session invalidation."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import AuditEvent, LoginThrottle
from app.models.types import utcnow
from app.services.access import auth as auth_service
from app.services.core.audit import Actor
from app.services.access.devices import revoke_device
from tests.helpers.builders import PASSWORD


def test_password_login_starts_a_session(client, users):
    """Correct username and password sign in and land on the user's start page."""
    response = client.post_form("/login", {"username": "t-operator", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/floor"
    assert client.get("/floor/stations").status_code == 200


def test_wrong_password_is_refused_and_counted(client, users, db):
    """A wrong password gets 401, no session, and one failure on the identifier."""
    response = client.post_form("/login", {"username": "t-operator", "password": "nope"})
    assert response.status_code == 401
    assert "Wrong username or password." in response.get_data(as_text=True)
    assert db.session.get(LoginThrottle, "user:t-operator").failures == 1
    assert client.get("/floor").status_code == 302


@pytest.mark.parametrize("kind", ["password", "badge"])
def test_five_failures_lock_the_identifier(client, users, tablet, kind, app, db):
    """After 5 failures on a tablet even the right secret is refused there (429) until the lock expires."""
    client.set_cookie(app.config["DEVICE_COOKIE"], tablet[1])
    url, bad, good = (("/login", {"username": "t-operator", "password": "bad"}, {"username": "t-operator", "password": PASSWORD})
                      if kind == "password" else
                      ("/login/badge", {"badge": "7001", "pin": "0000"}, {"badge": "7001", "pin": "1357"}))
    for _ in range(5):
        assert client.post_form(url, bad).status_code == 401
    locked = client.post_form(url, good)
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.locked")) is not None
    account = "user:t-operator" if kind == "password" else "badge:7001"
    row = db.session.get(LoginThrottle, f"{account} from device:{tablet[0].id}")  # the lock is this tablet's
    row.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.post_form(url, good).status_code == 302


def test_badge_and_pin_on_a_registered_tablet(client, users, tablet, app):
    """Badge + PIN signs in on a registered device and marks the session as a tablet session."""
    client.set_cookie(app.config["DEVICE_COOKIE"], tablet[1])
    response = client.post_form("/login/badge", {"badge": "7001", "pin": "1357"})
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert session["tablet"] is True


def test_wrong_pin_is_refused(client, users, tablet, app):
    """A wrong PIN gets 401 and no session."""
    client.set_cookie(app.config["DEVICE_COOKIE"], tablet[1])
    response = client.post_form("/login/badge", {"badge": "7001", "pin": "9999"})
    assert response.status_code == 401 and "Wrong badge or PIN." in response.get_data(as_text=True)
    assert client.get("/floor").status_code == 302


@pytest.mark.parametrize("cookie", [None, "forged-token", "revoked"])
def test_badge_login_needs_a_registered_device(client, users, tablet, app, cookie):
    """Without a valid device cookie (none, forged, revoked) badge sign-in is refused with 403."""
    if cookie == "revoked":
        revoke_device(tablet[0], Actor(users.admin.id))
        cookie = tablet[1]
    if cookie:
        client.set_cookie(app.config["DEVICE_COOKIE"], cookie)
    assert client.get("/login/badge").status_code == 403
    response = client.post_form("/login/badge", {"badge": "7001", "pin": "1357"})
    assert response.status_code == 403
    assert "not registered" in response.get_data(as_text=True)


def test_idle_tablet_session_is_signed_out(login, users, app):
    """A tablet session idle longer than the timeout is ended on its next request."""
    client = login(users.operator, tablet=True)
    assert client.get("/floor/stations").status_code == 200
    with client.session_transaction() as session:
        session["last_seen"] = (utcnow() - timedelta(minutes=app.config["IDLE_TIMEOUT_MINUTES"] + 1)).isoformat()
    response = client.get("/floor/stations")
    assert response.status_code == 302 and "reason=idle" in response.headers["Location"]
    assert client.get("/floor/stations").status_code == 302


def test_active_tablet_session_survives(login, users, app):
    """Activity within the timeout keeps the session."""
    client = login(users.operator, tablet=True)
    with client.session_transaction() as session:
        session["last_seen"] = (utcnow() - timedelta(minutes=app.config["IDLE_TIMEOUT_MINUTES"] - 1)).isoformat()
    assert client.get("/floor/stations").status_code == 200


def test_idle_page_says_why(client):
    """The sign-in page explains an idle sign-out."""
    assert "without activity" in client.get("/login?reason=idle").get_data(as_text=True)


def test_logout_ends_every_session_server_side(login, users):
    """Signing out on one tablet ends the same user's other sessions too (a replayed cookie fails)."""
    first, second = login(users.operator), login(users.operator)
    assert first.post_form("/logout").status_code == 302
    assert second.get("/floor/stations").status_code == 302


def test_deactivation_ends_sessions(login, users, db):
    """A deactivated user's open session stops working at once."""
    client = login(users.operator)
    auth_service.set_active(users.operator, False, Actor(users.admin.id))
    assert client.get("/floor/stations").status_code == 302


def test_password_change_ends_sessions(login, users):
    """Changing a password ends all sessions and the new password works."""
    client, other = login(users.inspector), login(users.inspector)
    response = client.post_form("/account/password", {"current_password": PASSWORD, "new_password": "a-new-long-password"})
    assert response.status_code == 302
    assert other.get("/account/password").status_code == 302
    assert client.post_form("/login", {"username": "t-inspector", "password": "a-new-long-password"}).status_code == 302


def test_password_change_needs_current_password(login, users):
    """A wrong current password changes nothing."""
    client = login(users.inspector)
    response = client.post_form("/account/password", {"current_password": "wrong", "new_password": "a-new-long-password"})
    assert response.status_code == 422
    assert client.get("/account/password").status_code == 200


@pytest.mark.parametrize("target,expected", [
    ("/floor/stations", "/floor/stations"),
    ("https://evil.example/", "/floor"),
    ("//evil.example/x", "/floor"),
    ("/\\evil.example", "/floor"),
    ("javascript:alert(1)", "/floor"),
])
def test_next_redirect_is_safe(client, users, target, expected):
    """Only same-site paths are followed after sign-in."""
    response = client.post_form("/login", {"username": "t-operator", "password": PASSWORD, "next": target})
    assert response.headers["Location"] == expected


def test_state_change_without_csrf_token_is_refused(client, users):
    """A POST without the CSRF token gets 400 and signs nobody in."""
    response = client.post("/login", data={"username": "t-operator", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/floor").status_code == 302


def test_every_page_carries_the_csrf_meta_tag(client):
    """<meta name="csrf-token"> is in the head of pages."""
    html = client.get("/login").get_data(as_text=True)
    assert '<meta name="csrf-token" content="' in html


def test_unknown_fields_are_refused(client, users):
    """Server-owned fields cannot be posted (unknown=RAISE)."""
    response = client.post_form("/login", {"username": "t-operator", "password": PASSWORD, "roles": "admin"})
    assert response.status_code == 422


def _page_token(client, path: str) -> tuple[str, str]:
    """Load a page; its CSRF token and the session cookie its response set."""
    html = client.get(path).get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1), client.get_cookie("session").value


def test_pages_loaded_together_after_sign_out_share_one_csrf_secret(login, users, app):
    """Two sign-in pages loaded at once after a sign-out (the redirect and a second tab) both work,
    whichever response's cookie the browser kept last."""
    client = login(users.operator)
    client.post_form("/logout")
    after_logout = client.get_cookie("session").value
    first_token, _ = _page_token(client, "/login")
    client.set_cookie("session", after_logout)  # the second page was requested before the first answered
    _, second_cookie = _page_token(client, "/login")
    client.set_cookie("session", second_cookie)  # ... and its cookie arrived last
    response = client.post("/login", data={"csrf_token": first_token, "username": "t-operator", "password": PASSWORD})
    assert response.status_code == 302 and client.get("/floor/stations").status_code == 200


def test_a_stale_sign_in_form_is_shown_again_ready_to_use(client, users):
    """A sign-in form whose CSRF token no longer matches is answered with the form and the reason."""
    client.get("/login")
    response = client.post("/login", data={"csrf_token": "stale", "username": "t-operator", "password": PASSWORD})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "This sign-in page had expired. Sign in again." in html
    assert 'name="username"' in html and client.get("/floor/stations").status_code == 302
    token = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(r'csrf-token" content="([^"]+)"', html)
    retry = client.post("/login", data={"csrf_token": token.group(1), "username": "t-operator", "password": PASSWORD})
    assert retry.status_code == 302
