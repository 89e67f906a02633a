"""Authentication rules: argon2 hashes, lockout per identifier, badge + PIN on registered devices."""
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select

from app.services.core.errors import DomainError
from app.extensions import db
from app.models import Device, LoginThrottle, User
from app.models.types import utcnow
from app.services.core import audit
from app.services.core.audit import Actor

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


class LockedOut(AuthError):
    """Too many failures for this identifier."""

    status = 429


def hash_secret(secret: str) -> str:
    """argon2id hash of a password or PIN."""
    return _hasher()[0].hash(secret)


def _verify(stored: str | None, secret: str) -> bool:
    hasher, dummy = _hasher()
    try:
        return hasher.verify(stored or dummy, secret) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _throttle(identifier: str) -> LoginThrottle:
    row = db.session.get(LoginThrottle, identifier)
    if row is None:
        row = LoginThrottle(identifier=identifier, failures=0)
        db.session.add(row)
    return row


def check_not_locked(identifier: str, now: datetime | None = None) -> None:
    """Raise LockedOut while the identifier's lock holds."""
    row = db.session.get(LoginThrottle, identifier)
    now = now or utcnow()
    if row and row.locked_until and row.locked_until > now:
        minutes = max(1, int((row.locked_until - now).total_seconds() // 60) + 1)
        raise LockedOut(f"Too many failed attempts. Try again in {minutes} minute(s) or ask a supervisor.")


def register_failure(identifier: str, threshold: int, lock_minutes: int, actor: Actor) -> None:
    """Count a failure (committed even though the sign-in fails) and lock at the threshold."""
    row = _throttle(identifier)
    now = utcnow()
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= threshold:
        row.locked_until = now + timedelta(minutes=lock_minutes)
        row.failures = 0
        audit.record(actor, "auth.locked", "login", identifier, after={"locked_until": row.locked_until.isoformat()})
    db.session.commit()


def clear_failures(identifier: str) -> None:
    """Forget failures after a success."""
    row = db.session.get(LoginThrottle, identifier)
    if row:
        row.failures, row.locked_until = 0, None


def authenticate_password(username: str, password: str, threshold: int, lock_minutes: int,
                          device: Device | None = None) -> User:
    """Return the active user whose password matches, or raise AuthError/LockedOut."""
    identifier = f"user:{username.strip().lower()}"
    check_not_locked(identifier)
    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    ok = _verify(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        register_failure(identifier, threshold, lock_minutes, Actor(None, device.id if device else None))
        raise AuthError("Wrong username or password.")
    clear_failures(identifier)
    return user


def authenticate_badge(badge: str, pin: str, device: Device | None, threshold: int, lock_minutes: int) -> User:
    """Badge + PIN sign-in, allowed only on a registered device."""
    if device is None:
        raise AuthError("This tablet is not registered. Ask a supervisor to register it, or sign in with a password.",
                        status=403)
    identifier = f"badge:{badge.strip()}"
    check_not_locked(identifier)
    user = db.session.scalar(select(User).where(User.badge_id == badge.strip()))
    ok = _verify(user.pin_hash if user else None, pin)
    if not ok or user is None or not user.active:
        register_failure(identifier, threshold, lock_minutes, Actor(None, device.id))
        raise AuthError("Wrong badge or PIN.")
    clear_failures(identifier)
    return user


def end_all_sessions(user: User) -> None:
    """Bump the session generation so every session cookie of this user stops working."""
    user.session_generation += 1


def change_password(user: User, current: str, new: str, actor: Actor) -> None:
    """Change a password after checking the current one; ends every session of the user."""
    if not _verify(user.password_hash, current):
        raise DomainError("The current password is wrong.", {"current_password": ["Wrong password."]})
    if len(new) < 10:
        raise DomainError("The new password is too short.", {"new_password": ["Use at least 10 characters."]})
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
