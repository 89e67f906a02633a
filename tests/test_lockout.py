"""Sign-in throttling (issue 11 finding 5, SEC-AUTH-3): per account and source, growing locks, unlock by a
supervisor or admin, and password change counted like a sign-in."""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import create_app
from app.config import TestingConfig
from app.models import AuditEvent, LoginThrottle
from app.models.types import frozen_clock, utcnow
from app.services.access import auth as auth_service
from app.services.access.devices import register_device
from app.services.access.lockout import LockedOut, LockoutPolicy, Source
from app.services.core.audit import Actor
from tests.helpers.builders import PASSWORD, Client

LOCKED = "Too many failed attempts"


def _from(app, address: str | None = None, device_token: str | None = None):
    """An anonymous client at a client address, or on a registered tablet."""
    app.test_client_class = Client
    client = app.test_client()
    if address:
        client.environ_base["REMOTE_ADDR"] = address
    if device_token:
        client.set_cookie(app.config["DEVICE_COOKIE"], device_token)
    return client


def _password(client, password: str, username: str = "t-operator"):
    return client.post_form("/login", {"username": username, "password": password})


def _locks(db) -> dict[str, LoginThrottle]:
    db.session.expire_all()
    rows = db.session.scalars(select(LoginThrottle).where(LoginThrottle.locked_until > utcnow()))
    return {row.identifier: row for row in rows}


def test_wrong_current_passwords_lock_and_sign_out(login, users, app, db):
    """Wrong current passwords on POST /account/password lock the account from here (429), end the session,
    and the lock refuses the right password at sign-in from the same address."""
    client = login(users.operator)
    statuses = [client.post_form("/account/password", {"current_password": f"guess-{n}",
                                                       "new_password": "a-brand-new-password"}).status_code
                for n in range(8)]
    assert statuses[:4] == [422] * 4 and statuses[4] == 429
    assert statuses[5:] == [302] * 3  # signed out: the next tries go to the sign-in page, uncounted
    assert client.get("/floor/stations").status_code == 302
    assert "user:t-operator from address:127.0.0.1" in _locks(db)
    refused = _password(_from(app), PASSWORD)
    assert refused.status_code == 429 and LOCKED in refused.get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.locked")) is not None


def test_signed_out_message_says_why(login, users):
    """The try that sets the lock says the session ended and why."""
    client = login(users.operator)
    for n in range(4):
        client.post_form("/account/password", {"current_password": f"guess-{n}", "new_password": "x" * 12})
    html = client.post_form("/account/password", {"current_password": "guess-4", "new_password": "x" * 12})
    assert "You are signed out: the current password was wrong too many times." in html.get_data(as_text=True)


def test_a_lock_from_one_address_leaves_the_owners_tablet_open(app, users, tablet, db):
    """8 wrong passwords from address A lock A only; the owner still signs in on registered tablet B."""
    stranger = _from(app, "10.0.0.66")
    assert [_password(stranger, "wrong").status_code for _ in range(8)] == [401] * 5 + [429] * 3
    assert _password(stranger, PASSWORD).status_code == 429
    assert db.session.get(LoginThrottle, "user:t-operator from address:10.0.0.66").failures == 5  # refusals uncounted
    assert _password(_from(app, device_token=tablet[1]), PASSWORD).status_code == 302
    assert _password(_from(app, "10.0.0.7"), PASSWORD).status_code == 302


def test_many_sources_lock_the_account_but_not_where_the_owner_signs_in(app, users, tablet, db):
    """Failures from everywhere past the account threshold lock unfamiliar sources; a tablet where the owner
    signed in before stays open."""
    assert _password(_from(app, device_token=tablet[1]), PASSWORD).status_code == 302
    threshold = app.config["LOCKOUT_ACCOUNT_THRESHOLD"]
    for n in range(threshold // app.config["LOCKOUT_THRESHOLD"]):
        stranger = _from(app, f"10.0.1.{n}")
        for _ in range(app.config["LOCKOUT_THRESHOLD"]):
            assert _password(stranger, "wrong").status_code == 401
    assert "user:t-operator" in _locks(db)
    assert _password(_from(app, "10.0.2.1"), PASSWORD).status_code == 429
    assert _password(_from(app, device_token=tablet[1]), PASSWORD).status_code == 302


def test_each_lock_lasts_longer(app, users, db):
    """A failure once a lock has run out locks again, for twice as long."""
    stranger = _from(app, "10.0.0.66")
    start = utcnow()
    for _ in range(5):
        _password(stranger, "wrong")
    first = _locks(db)["user:t-operator from address:10.0.0.66"]
    assert first.locked_until - first.locked_at == timedelta(minutes=15)
    with frozen_clock(start + timedelta(minutes=16)):
        assert _password(stranger, "wrong").status_code == 401
        again = _password(stranger, PASSWORD)
    second = db.session.get(LoginThrottle, "user:t-operator from address:10.0.0.66")
    assert second.locked_until - second.locked_at == timedelta(minutes=30)
    assert again.status_code == 429 and "Try again in 30 minutes" in again.get_data(as_text=True)


def test_failures_are_forgotten_after_a_quiet_spell(app, users, db):
    """Failures older than LOCKOUT_RESET_HOURS no longer count toward a lock."""
    stranger = _from(app, "10.0.0.66")
    for _ in range(4):
        _password(stranger, "wrong")
    with frozen_clock(utcnow() + timedelta(hours=app.config["LOCKOUT_RESET_HOURS"], minutes=1)):
        assert _password(stranger, "wrong").status_code == 401
        assert _password(stranger, PASSWORD).status_code == 302
    assert db.session.get(LoginThrottle, "user:t-operator from address:10.0.0.66").failures == 0


def test_badge_pin_lock_is_per_tablet(app, plant, users, tablet):
    """Wrong PINs lock the badge on that tablet; the operator's badge still works on another tablet."""
    _, other = register_device("Press 2 tablet", plant.stations["Press 2"].id, Actor(users.admin.id))
    here = _from(app, device_token=tablet[1])
    for _ in range(5):
        assert here.post_form("/login/badge", {"badge": "7001", "pin": "0000"}).status_code == 401
    assert here.post_form("/login/badge", {"badge": "7001", "pin": "1357"}).status_code == 429
    assert _from(app, device_token=other).post_form("/login/badge", {"badge": "7001", "pin": "1357"}).status_code == 302


@pytest.mark.parametrize("url,field,secret", [("/login", "username", "password"), ("/login/badge", "badge", "pin")])
def test_a_lock_does_not_tell_real_names_from_made_up_ones(app, users, tablet, url, field, secret):
    """A name that does not exist is counted and locked with the same words as a real one."""
    real, made_up = ("t-operator", "nobody-here") if field == "username" else ("7001", "9999")
    pages = []
    for name in (real, made_up):
        client = _from(app, device_token=tablet[1])
        for _ in range(5):
            client.post_form(url, {field: name, secret: "0000"})
        response = client.post_form(url, {field: name, secret: "0000"})
        pages.append((response.status_code, response.get_data(as_text=True).count(LOCKED)))
    assert pages[0] == pages[1] == (429, 1)


def test_supervisor_sees_and_unlocks_with_a_reason(app, login, users, db):
    """A supervisor sees who is locked from where and until when, unlocks with a reason (audited, shown on the
    page), and the right password works again from there."""
    stranger = _from(app, "10.0.0.66")
    for _ in range(5):
        _password(stranger, "wrong")
    supervisor = login(users.supervisor)
    page = supervisor.get("/admin/lockouts").get_data(as_text=True)
    assert "T-Operator (t-operator)" in page and "10.0.0.66" in page
    response = supervisor.post_form("/admin/lockouts/unlock", {"identifier": "user:t-operator from address:10.0.0.66",
                                                               "reason": "Called the operator: typo, caps lock"})
    assert response.status_code == 303
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.unlocked"))
    assert (event.actor_id, event.entity_id, event.reason) == (
        users.supervisor.id, "user:t-operator from address:10.0.0.66", "Called the operator: typo, caps lock")
    assert "Called the operator: typo, caps lock" in supervisor.get("/admin/lockouts").get_data(as_text=True)
    assert _password(stranger, PASSWORD).status_code == 302


@pytest.mark.parametrize("role", ["operator", "inspector", "auditor"])
def test_only_admins_and_supervisors_unlock(app, login, users, db, role):
    """Other roles get 403 on the page and the unlock, and the lock stays."""
    stranger = _from(app, "10.0.0.66")
    for _ in range(5):
        _password(stranger, "wrong")
    client = login(getattr(users, role))
    assert client.get("/admin/lockouts").status_code == 403
    response = client.post_form("/admin/lockouts/unlock", {"identifier": "user:t-operator from address:10.0.0.66",
                                                           "reason": "let me in"})
    assert response.status_code == 403
    assert "user:t-operator from address:10.0.0.66" in _locks(db)


@pytest.mark.parametrize("form,status,text", [
    ({"identifier": "user:t-operator from address:10.0.0.66", "reason": " "}, 422, "Say why you unlock it"),
    ({"identifier": "user:t-operator from address:10.0.0.66"}, 422, "Missing data for required field."),
    ({"identifier": "user:nobody from address:10.0.0.1", "reason": "test it"}, 409, "not locked"),
])
def test_unlock_input_is_checked(app, login, users, db, form, status, text):
    """An unlock needs a reason and a lock that holds; otherwise it says which and nothing changes."""
    stranger = _from(app, "10.0.0.66")
    for _ in range(5):
        _password(stranger, "wrong")
    response = login(users.admin).post_form("/admin/lockouts/unlock", form)
    assert response.status_code == status and text in response.get_data(as_text=True)
    assert "user:t-operator from address:10.0.0.66" in _locks(db)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.unlocked")) is None


@pytest.mark.parametrize("failures,minutes", [(5, 15), (6, 30), (7, 60), (11, 960), (12, 1440), (400, 1440)])
def test_lock_length_doubles_up_to_the_cap(failures, minutes):
    """Each failure past the threshold doubles the lock, never beyond the cap."""
    rules = LockoutPolicy(5, timedelta(minutes=15), timedelta(minutes=1440), 20, timedelta(hours=24),
                          timedelta(days=90))
    assert rules.lock_length(failures, 5) == timedelta(minutes=minutes)


def test_parallel_guesses_are_counted_one_after_another(app, users, db):
    """Ten simultaneous wrong passwords from one address (as from several workers): five are checked and
    counted, five refused, because each attempt holds its rows until it is counted."""
    source = Source.of(None, "10.0.0.66")

    def guess(_) -> str:
        with app.app_context():
            try:
                auth_service.authenticate_password("t-operator", "wrong", source)
            except LockedOut:
                return "locked"
            except auth_service.AuthError:
                return "wrong"
            finally:
                db.session.remove()
            return "signed in"

    with ThreadPoolExecutor(10) as pool:
        outcomes = sorted(pool.map(guess, range(10)))
    assert outcomes == ["locked"] * 5 + ["wrong"] * 5
    db.session.expire_all()
    assert db.session.get(LoginThrottle, "user:t-operator from address:10.0.0.66").failures == 5


@pytest.mark.parametrize("proxies,source", [(1, "address:10.7.7.7"), (0, "address:127.0.0.1")],
                         ids=["behind-a-trusted-proxy", "no-proxy-configured"])
def test_the_source_behind_a_trusted_proxy_is_the_clients_address(app, users, db, database_url, tmp_path, proxies,
                                                                  source):
    """M2: behind FLOORBOOK_TRUSTED_PROXIES=1 the address the proxy saw counts as the source, so one desk's
    guesses do not lock every desk behind the proxy; without it the header is a client's word and ignored."""
    proxied = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, INSTANCE_PATH=str(tmp_path / "i"),
                         TRUSTED_PROXIES=proxies)
    client = _from(proxied, "127.0.0.1")
    response = client.post_form("/login", {"username": "t-operator", "password": "not-it"},
                                headers={"X-Forwarded-For": "10.7.7.7"})
    assert response.status_code == 401
    db.session.expire_all()
    sources = set(db.session.scalars(select(LoginThrottle.source).where(LoginThrottle.source.is_not(None))))
    assert sources == {source}
