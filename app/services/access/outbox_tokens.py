"""Outbox tokens: how a change saved on a shared tablet is sent later as the person who made it.

Each tablet page carries a token for the signed-in user (and the registered tablet). The outbox stores it
with every change it keeps. A replay sends the change with that token and without cookies, so it arrives as
its author's even when someone else has signed in on the tablet since. The token is accepted only by the
endpoints marked @idempotent, only while the user is active, only until their password or PIN changes
(a changed credential says the old one may be known to someone else), and only for OUTBOX_TOKEN_DAYS.
"""
import hashlib
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.extensions import db
from app.models import Device, User

SALT = "floorbook-outbox-v1"


@dataclass(frozen=True)
class Bearer:
    """Who a valid token speaks for."""

    user: User
    device: Device | None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def credentials(user: User) -> str:
    """A short digest of the user's password and PIN hashes: it changes when either does."""
    hashes = f"{user.password_hash or ''}|{user.pin_hash or ''}".encode()
    return hashlib.sha256(hashes).hexdigest()[:16]


def issue(user: User, device: Device | None) -> str:
    """A token for user on this tablet."""
    return _serializer().dumps({"u": user.id, "d": device.id if device else None, "c": credentials(user)})


def verify(token: str) -> Bearer | None:
    """The active user (and still-registered tablet) of a token that is genuine and not too old."""
    max_age = int(current_app.config["OUTBOX_TOKEN_DAYS"] * 86400)
    try:
        payload = _serializer().loads(token, max_age=max_age)
    except BadSignature:  # includes SignatureExpired
        return None
    user = db.session.get(User, payload.get("u")) if isinstance(payload, dict) else None
    if user is None or not user.active or payload.get("c") != credentials(user):
        return None
    device = db.session.get(Device, payload["d"]) if payload.get("d") else None
    if payload.get("d") and (device is None or device.revoked_at is not None):
        return None  # a revoked tablet's waiting changes are not taken
    return Bearer(user, device)
