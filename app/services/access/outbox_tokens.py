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
- once its author signs out on the tablet, it sends only the changes they left waiting there (the sign-out
  names them: Idempotency-Key and path, record_sign_out): whoever uses the tablet next cannot make new changes
  with a token left in its storage; a later sign-in by the author hands the outbox a fresh token;
- it ends when the tablet is revoked, when its author is deactivated or their password or PIN changes (a
  changed credential says the old one may be known to someone else), and after OUTBOX_TOKEN_HOURS (a shift
  and its hand-over: a change older than that waits until its author signs in on the tablet again, which
  hands the outbox a fresh token).
"""
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete

from app.extensions import db
from app.models import Device, TabletSignOut, User
from app.models.types import utcnow
from app.services.core.errors import DomainError

MAX_WAITING = 2000  # an outbox holds a shift of changes at most; more is not a tablet's list
_KEY = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_PATH = re.compile(r"/floor/[A-Za-z0-9/_.-]{1,380}")

SALT = "floorbook-outbox-v1"


@dataclass(frozen=True)
class Bearer:
    """Who a valid token speaks for."""

    user: User
    device: Device | None
    issued_at: datetime


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def credentials(user: User) -> str:
    """A short digest of the user's password and PIN hashes: it changes when either does."""
    hashes = f"{user.password_hash or ''}|{user.pin_hash or ''}".encode()
    return hashlib.sha256(hashes).hexdigest()[:16]


def issue(user: User, device: Device) -> str:
    """A token for user on this registered tablet."""
    return _serializer().dumps({"u": user.id, "d": device.id, "c": credentials(user),
                                "t": int(utcnow().timestamp() * 1000)})


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
    issued = payload.get("t") if isinstance(payload.get("t"), int) else 0
    return Bearer(user, device, datetime.fromtimestamp(issued / 1000, timezone.utc))


def reaches(bearer: Bearer, key: str | None, path: str) -> bool:
    """Whether the token may send this change: any, unless its author signed out on the tablet after it was
    issued; then only a change they left waiting at that sign-out (its Idempotency-Key on its path)."""
    left = db.session.get(TabletSignOut, (bearer.user.id, bearer.device.id))
    if left is None or left.signed_out_at < bearer.issued_at:
        return True
    return [key, path] in json.loads(left.waiting_json)


def waiting_from(raw: str | None) -> list[list[str]]:
    """The sign-out form's list of waiting changes (JSON [[Idempotency-Key, path], …]), checked; 422 naming
    the field when it is not such a list."""
    try:
        waiting = json.loads(raw) if raw else []
    except ValueError:
        waiting = None
    if not isinstance(waiting, list) or len(waiting) > MAX_WAITING or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair)
            and _KEY.fullmatch(pair[0]) and _PATH.fullmatch(pair[1]) for pair in waiting):
        raise DomainError("The list of changes waiting on this tablet could not be read.", {"waiting": [
            f"Expected a JSON list of at most {MAX_WAITING:,} [Idempotency-Key, /floor/… path] pairs."]})
    return waiting


def record_sign_out(user: User, device: Device, waiting: list[list[str]]) -> None:
    """Remember that user signed out on device leaving `waiting`: their earlier tokens send only those now.
    Rows older than any token could be are dropped on the way."""
    now = utcnow()
    db.session.execute(delete(TabletSignOut).where(
        TabletSignOut.signed_out_at < now - timedelta(hours=current_app.config["OUTBOX_TOKEN_HOURS"])))
    row = db.session.get(TabletSignOut, (user.id, device.id)) or TabletSignOut(user_id=user.id, device_id=device.id)
    row.signed_out_at, row.waiting_json = now, json.dumps(waiting)
    db.session.add(row)
