"""Authentication rules: argon2 hashes, badge + PIN on registered devices; throttling is lockout.py's."""
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select

from app.services.core.errors import DomainError
from app.extensions import db
from app.models import Device, User
from app.services.core import audit
from app.services.core.audit import Actor
from app.services.access import lockout, passwords
from app.services.access.lockout import Source

_DUMMY = "not-a-real-password"


@lru_cache(maxsize=4)
def _hasher_for(params: tuple) -> tuple[PasswordHasher, str]:
    hasher = PasswordHasher(**dict(params))
    # A real hash to verify against when the user is unknown, so timing does not reveal usernames.
    return hasher, hasher.hash(_DUMMY)


def _hasher() -> tuple[PasswordHasher, str]:
    return _hasher_for(tuple(sorted(current_app.config["PASSWORD_HASH_PARAMS"].items())))


class AuthError(DomainError):
    """Sign-in refused; the message is safe to show."""

    status = 401


def hash_secret(secret: str) -> str:
    """argon2id hash of a password or PIN."""
    return _hasher()[0].hash(secret)


def _verify(stored: str | None, secret: str) -> bool:
    hasher, dummy = _hasher()
    try:
        return hasher.verify(stored or dummy, secret) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _rehashed(stored: str, secret: str) -> str:
    """The stored hash, or a new one of the secret just verified when the hash's parameters are below the
    configured ones (SEC-AUTH-2: a hash made with older, weaker settings is upgraded at the next sign-in)."""
    hasher, _dummy = _hasher()
    return hasher.hash(secret) if hasher.check_needs_rehash(stored) else stored


def authenticate_password(username: str, password: str, source: Source) -> User:
    """Return the active user whose password matches, or raise AuthError/LockedOut (app/services/access/lockout.py)."""
    name = username.strip().lower()
    attempt = lockout.begin(f"user:{name}", source)
    user = db.session.scalar(select(User).where(User.username == name))
    ok = _verify(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        lockout.fail(attempt, Actor(None, source.device_id))
        raise AuthError("Wrong username or password.")
    lockout.succeed(attempt)
    user.password_hash = _rehashed(user.password_hash, password)  # committed with the sign-in
    return user


def authenticate_badge(badge: str, pin: str, device: Device | None) -> User:
    """Badge + PIN sign-in, allowed only on a registered device; throttled like passwords, per tablet."""
    if device is None:
        raise AuthError("This tablet is not registered. Ask a supervisor to register it, or sign in with a password.",
                        status=403)
    source = Source.of(device.id, None)
    attempt = lockout.begin(f"badge:{badge.strip()}", source)
    user = db.session.scalar(select(User).where(User.badge_id == badge.strip()))
    ok = _verify(user.pin_hash if user else None, pin)
    if not ok or user is None or not user.active:
        lockout.fail(attempt, Actor(None, device.id))
        raise AuthError("Wrong badge or PIN.")
    lockout.succeed(attempt)
    user.pin_hash = _rehashed(user.pin_hash, pin)
    return user


def end_all_sessions(user: User) -> None:
    """Bump the session generation so every session cookie of this user stops working."""
    user.session_generation += 1


def change_password(user: User, current: str, new: str, actor: Actor, address: str | None = None) -> None:
    """Change a password after checking the current one; ends every session of the user.

    A wrong current password counts toward the account's lockout from this source (the actor's tablet, else
    address), as a failed sign-in does: whoever finds a session left open cannot guess its owner's password
    here. The failure that sets the lock raises LockedOut at once, so the caller can end the session.
    """
    attempt = lockout.begin(f"user:{user.username}", Source.of(actor.device_id, address))
    if not _verify(user.password_hash, current):
        locked = lockout.fail(attempt, actor)
        if locked is not None:
            raise locked
        raise DomainError("The current password is wrong.", {"current_password": ["Wrong password."]})
    found = passwords.problems_for(new, user.username, user.printed_name)
    if found:
        raise DomainError("Choose another new password.", {"new_password": found})
    lockout.succeed(attempt)
    user.password_hash = hash_secret(new)
    end_all_sessions(user)
    audit.record(actor, "user.password_changed", "user", user.id)
    db.session.commit()


def set_active(user: User, active: bool, actor: Actor) -> None:
    """Activate or deactivate a user; deactivation ends every session at once."""
    before = user.active
    user.active = active
    if not active:
        end_all_sessions(user)
    audit.record(actor, "user.activated" if active else "user.deactivated", "user", user.id,
                 before={"active": before}, after={"active": active})
    db.session.commit()
