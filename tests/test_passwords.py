"""The password policy (compliance.md SEC-AUTH-1) and hashes kept up to the configured argon2id parameters
(SEC-AUTH-2)."""
import argon2
import pytest
from sqlalchemy import select

from app.models import User
from app.services.access import passwords
from app.services.access.users import create_user
from app.services.core.audit import Actor
from app.services.core.errors import DomainError
from tests.helpers.builders import PASSWORD, Client

CONTEXT = passwords.context_words("jsmith", "Jane Smith", "Demo Plant")


@pytest.mark.parametrize("password,refused", [
    ("nine-char", True), ("ten-chars!", False), ("x" * 9 + "y", True), ("w" * 64, True), ("lantern-" * 8, False),
    ("brisk otter lantern " * 12 + "mosaic", False),  # 246 characters: long is fine
    ("brisk otter lantern " * 13, True),  # 260: past the form's 256
    ("Password1", True), ("Password2024!", True), ("P@ssw0rd12345", True), ("iloveyou12345", True),
    ("qwertyuiop", True), ("1234567890", True), ("zyxwvutsrqp", True), ("aaaaaaaaaaaa", True), ("abababababab", True),
    ("jsmith-is-here", True), ("smith family 1990", True), ("demo plant rocks", True), ("floorbook-2026", True),
    ("correct horse battery staple", False), ("Grüne Äpfel im Mai", False), ("valve-7-torque-seat", False),
], ids=lambda value: value[:24] if isinstance(value, str) else None)
def test_the_policy_refuses_short_common_and_personal_passwords(password, refused):
    assert bool(passwords.problems(password, CONTEXT)) is refused, passwords.problems(password, CONTEXT)


def test_each_refusal_says_what_to_do():
    assert passwords.problems("short", CONTEXT) == [
        "Use at least 10 characters: a few words are easy to remember and hard to guess."]
    assert passwords.problems("Password2024!", CONTEXT) == [
        "This is one of the passwords tried first by anyone guessing: choose another."]
    assert passwords.problems("jane-smith-forever", CONTEXT) == [
        "Do not build it from “Jane”: that is the first thing someone would try."]


def test_a_new_user_gets_the_policy_and_the_demo_is_the_exception(plant, db):
    """`flask users create` (create_user) refuses a weak password naming the field; the demo's published
    credentials (DESIGN.md §10: operator1-demo) are made without the policy."""
    with pytest.raises(DomainError) as refused:
        create_user("operator9", "Olga Nine", ["operator"], "operator9-demo", None, None, Actor(None))
    assert "Do not build it from “operator9”" in refused.value.errors["password"][0]
    made = create_user("operator9", "Olga Nine", ["operator"], "operator9-demo", None, None, Actor(None), policy=False)
    assert made.password_hash.startswith("$argon2id$")


def test_a_new_password_must_pass_the_policy(login, users, app):
    """A weak new password is a 422 naming new_password; the old password still signs in."""
    client = login(users.inspector)
    response = client.post_form("/account/password", {"current_password": PASSWORD,
                                                      "new_password": "Password2024!"})
    assert response.status_code == 422 and "tried first by anyone guessing" in response.get_data(as_text=True)
    app.test_client_class = Client
    fresh = app.test_client()
    signed_in = fresh.post_form("/login", {"username": users.inspector.username, "password": PASSWORD})
    assert signed_in.status_code == 302


def test_a_hash_made_with_weaker_parameters_is_upgraded_at_sign_in(app, users, tablet, db):
    """A password and a PIN hashed with lower argon2id costs than configured are hashed again with the
    configured ones when they next sign in; the stored secrets are never in clear."""
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=512, parallelism=1)
    operator = db.session.get(User, users.operator.id)
    operator.password_hash, operator.badge_id, operator.pin_hash = weak.hash(PASSWORD), "7311", weak.hash("2468")
    db.session.commit()
    app.test_client_class = Client
    assert app.test_client().post_form("/login", {"username": operator.username,
                                                  "password": PASSWORD}).status_code == 302
    tablet_client = app.test_client()
    tablet_client.set_cookie(app.config["DEVICE_COOKIE"], tablet[1])
    assert tablet_client.post_form("/login/badge", {"badge": "7311", "pin": "2468"}).status_code == 302
    db.session.expire_all()
    stored = db.session.scalar(select(User).where(User.id == users.operator.id))
    wanted = app.config["PASSWORD_HASH_PARAMS"]
    for secret_hash in (stored.password_hash, stored.pin_hash):
        params = argon2.extract_parameters(secret_hash)
        assert secret_hash.startswith("$argon2id$") and (params.time_cost, params.memory_cost) == (
            wanted["time_cost"], wanted["memory_cost"])
        assert PASSWORD not in secret_hash and "2468" not in secret_hash
