"""Users: creation with validated roles and credentials."""
import re
from typing import Iterable

from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.roles import ROLES
from app.services.access import passwords
from app.services.access.auth import hash_secret
from app.services.core import audit
from app.services.core.audit import Actor
from app.services.core.errors import DomainError


def create_user(username: str, printed_name: str, roles: Iterable[str], password: str | None,
                badge: str | None, pin: str | None, actor: Actor, policy: bool = True) -> User:
    """Create a user; an operator with a badge needs a PIN of 4–8 digits, and a password passes the policy
    (app/services/access/passwords.py) unless `policy` is False: only the demo's published credentials."""
    username, roles = username.strip().lower(), sorted(set(roles))
    errors: dict[str, list[str]] = {}
    if not re.fullmatch(r"[a-z0-9._-]{2,64}", username):
        errors["username"] = ["2–64 characters: lowercase letters, digits, . _ -"]
    elif db.session.scalar(select(User).where(User.username == username)):
        errors["username"] = ["Already taken."]
    if not printed_name.strip():
        errors["printed_name"] = ["Required: it is printed on signatures."]
    if not roles or set(roles) - set(ROLES):
        errors["roles"] = [f"Choose from: {', '.join(ROLES)}."]
    if badge and not (pin and re.fullmatch(r"\d{4,8}", pin)):
        errors["pin"] = ["A badge needs a PIN of 4 to 8 digits."]
    if badge and db.session.scalar(select(User).where(User.badge_id == badge)):
        errors["badge"] = ["Already assigned to another user."]
    if password is not None and policy and (found := passwords.problems_for(password, username, printed_name)):
        errors["password"] = found
    if errors:
        raise DomainError("The user cannot be created.", errors)
    user = User(username=username, printed_name=printed_name.strip(), roles=" ".join(roles),
                password_hash=hash_secret(password) if password else None,
                badge_id=badge or None, pin_hash=hash_secret(pin) if badge and pin else None)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.created", "user", user.id, after={"username": username, "roles": roles})
    db.session.commit()
    return user
