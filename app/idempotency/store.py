"""Exactly-once for tablet requests: a key, the request it was first used with, and the response it got.

A tablet sends every state-changing request with an `Idempotency-Key` (its outbox keeps the key with the
request, so a replay after a lost connection carries the same one). The key row is written in the
transaction of the change itself: the change and its key commit together or not at all. A repeat of the
key with the same request gets the stored response and changes nothing; the same key with a different
request gets 422. Keys never expire.
"""
import hashlib
import json
import re
import time

from flask import Response, g, request
from sqlalchemy.exc import IntegrityError

from app.database import end_transaction, lazily_durable
from app.services.core.errors import DomainError
from app.extensions import db
from app.models import IdempotencyKey

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"[A-Za-z0-9._:-]{8,128}")
IGNORED_FIELDS = {"csrf_token", "device_time"}  # differ between a first try and its replay, mean the same
KEPT_HEADERS = ("Content-Type", "Location", "HX-Redirect", "HX-Refresh", "HX-Trigger", "HX-Retarget", "Vary")
WAIT_SECONDS = 5.0


def requested_key() -> str | None:
    """The request's key, checked for shape (400 with what is expected otherwise)."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not KEY_PATTERN.fullmatch(key):
        raise DomainError(f"The {HEADER} header is not valid.",
                          {HEADER: ["Expected 8–128 characters: letters, digits, '.', '_', ':' or '-' (a UUID)."]},
                          status=400)
    return key


def fingerprint(user_id: int | None) -> str:
    """What makes two requests the same: method, path, user, form fields and uploaded files' contents."""
    digest = hashlib.sha256()
    fields = sorted((k, v) for k, vs in request.form.lists() if k not in IGNORED_FIELDS for v in vs)
    files = []
    for name, upload in sorted(request.files.items(multi=True), key=lambda pair: pair[0]):
        files.append((name, hashlib.sha256(upload.stream.read()).hexdigest()))
        upload.stream.seek(0)
    digest.update(json.dumps([request.method, request.path, user_id, fields, files]).encode())
    return digest.hexdigest()


def claim(key: str, print_: str, user_id: int | None) -> IdempotencyKey | None:
    """Reserve key in the current transaction (None), or return the finished row of an earlier use."""
    # Insert first: nearly every key is new, and the primary key finds a repeat (committed earlier or
    # meanwhile by a concurrent request) at no extra statement.
    row = db.session.identity_map.get(db.session.identity_key(IdempotencyKey, key))
    if row is None:
        row = IdempotencyKey(key=key, fingerprint=print_, user_id=user_id, method=request.method,
                             path=request.path[:400])
        db.session.add(row)
        try:
            db.session.flush()
            g.idempotency_row = row  # store() fills it in, without reading it again
            return None
        except IntegrityError:
            db.session.rollback()
            row = db.session.get(IdempotencyKey, key)
    if row.fingerprint != print_:
        raise DomainError(f"This {HEADER} was already used for a different request.",
                          {HEADER: ["Use a new key for a new request; a key is only for repeating the same one."]},
                          status=422)
    return _finished(row)


def _finished(row: IdempotencyKey) -> IdempotencyKey:
    """Wait briefly for a concurrent first use to store its response."""
    deadline = time.monotonic() + WAIT_SECONDS
    while row.status is None and time.monotonic() < deadline:
        db.session.rollback()  # end the transaction so the other request can write, then read again
        time.sleep(0.05)
        row = db.session.get(IdempotencyKey, row.key, populate_existing=True)
    return row


def store(key: str, response: Response) -> None:
    """Keep the response of the first use with its key.

    The key row committed with the change, durably; its response is written after the render in a short
    transaction that does not wait for the disk (a response lost in a power cut is replayed as "already
    saved", which is true), so a change costs one fsync, not two.
    """
    lazily_durable(db.session)
    row = g.pop("idempotency_row", None)
    if row is None or row.key != key:
        row = db.session.get(IdempotencyKey, key)
    row.status = response.status_code
    row.headers_json = json.dumps({h: response.headers[h] for h in KEPT_HEADERS if h in response.headers})
    row.body = response.get_data()
    end_transaction(db.session)  # the after-request hooks read the user as loaded, not from the database


def replay(row: IdempotencyKey) -> Response:
    """The stored response again, marked as a replay; a change whose response was lost says so."""
    if row.status is None:
        response = Response("This change was already saved on the server.", 200, mimetype="text/plain")
    else:
        response = Response(row.body or b"", row.status)
        for name, value in json.loads(row.headers_json or "{}").items():
            response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    db.session.rollback()
    return response
