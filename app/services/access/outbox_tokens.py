"""Outbox tokens: how a change saved on a shared tablet is sent later as the person who made it.

Each page of a registered tablet carries a token for the signed-in person and that tablet. The outbox
stores it with every change it keeps. A replay sends the change with that token in a header, so it arrives
as its author's even when someone else has signed in on the tablet since: the server then ignores the
session cookie (app.security). The token is a credential, so it is held to what offline work needs:

- it works only together with the tablet's own device cookie (HttpOnly, never readable by a script): a
  token copied off the page does not work from another browser or device, nor from a browser that is not
  a registered tablet (none is issued there);
- it works only on the endpoints the outbox sends (answers, why, photos, start, submit, downtime:
  app.security.outbox_replayable), and there only within its author's object scope (app.services.access.scope);
- it ends when the tablet is revoked, when its author is deactivated or their password or PIN changes (a
  changed credential says the old one may be known to someone else), and after OUTBOX_TOKEN_HOURS (a shift
  and its hand-over: a change older than that waits until its author signs in on the tablet again, which
  hands the outbox a fresh token).
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


def issue(user: User, device: Device) -> str:
    """A token for user on this registered tablet."""
    return _serializer().dumps({"u": user.id, "d": device.id, "c": credentials(user)})


def verify(token: str, device: Device | None) -> Bearer | None:
    """The active user of a token that is genuine, not too old, and was issued on `device`: the registered,
    not revoked tablet whose cookie came with the request (None: no such tablet, so no bearer)."""
    max_age = int(current_app.config["OUTBOX_TOKEN_HOURS"] * 3600)
    try:
        payload = _serializer().loads(token, max_age=max_age)
    except BadSignature:  # includes SignatureExpired
        return None
    if device is None or not isinstance(payload, dict) or payload.get("d") != device.id:
        return None  # copied to another browser or tablet, or the tablet was revoked
    user = db.session.get(User, payload["u"]) if isinstance(payload.get("u"), int) else None
    if user is None or not user.active or payload.get("c") != credentials(user):
        return None
    return Bearer(user, device)
