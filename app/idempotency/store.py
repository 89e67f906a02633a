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

from flask import Response, request
from sqlalchemy import Connection, event, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.database import READ_ONLY, end_transaction, lazily_durable, read_only
from app.services.core.errors import DomainError
from app.extensions import db
from app.idempotency.responses import writer_for
from app.models import IdempotencyKey
from app.models.types import utcnow

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"[A-Za-z0-9._:-]{8,128}")
IGNORED_FIELDS = {"csrf_token", "device_time"}  # differ between a first try and its replay, mean the same
KEPT_HEADERS = ("Content-Type", "Location", "HX-Redirect", "HX-Refresh", "HX-Trigger", "HX-Retarget", "Vary")
WAIT_SECONDS = 5.0
_PENDING = "floorbook_idempotency_claim"
_CLAIMED = "floorbook_idempotency_claimed"


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


class KeyInUse(Exception):
    """A concurrent request with the same key claimed it first (its change wins; this one replays it)."""


def earlier_use(key: str, print_: str) -> IdempotencyKey | None:
    """The row of an earlier use of key (after waiting briefly for its response), or None; 422 when the key
    was used for a different request. Reads without the write lock, in the read-only transaction under way
    if there is one (a reads_first view's, left open), or in one of its own."""
    began = not db.session().in_transaction()
    read_only(db.session)
    row = db.session.get(IdempotencyKey, key)
    if row is not None:
        if row.fingerprint != print_:
            raise DomainError(f"This {HEADER} was already used for a different request.",
                              {HEADER: ["Use a new key for a new request; a key is only for repeating the same one."]},
                              status=422)
        row = _finished(row)
    if began:
        end_transaction(db.session)
    return row


def reserve(key: str, print_: str, user_id: int | None) -> None:
    """Claim key in the first write transaction the view begins: the change and its key commit together.

    Nearly every key is new, so nothing is locked for it before the view has read what it needs; a
    concurrent first use that claimed it meanwhile makes that transaction raise KeyInUse.
    """
    db.session().info[_PENDING] = {"key": key, "fingerprint": print_, "user_id": user_id,
                                   "method": request.method, "path": request.path[:400]}


@event.listens_for(Session, "after_begin")
def _claim_on_first_write(session: Session, _transaction, connection: Connection) -> None:
    claim = session.info.get(_PENDING)
    if claim is None or connection.get_execution_options().get(READ_ONLY):
        return
    del session.info[_PENDING]
    try:
        connection.execute(insert(IdempotencyKey).values(**claim, created_at=utcnow()))
    except IntegrityError as error:
        raise KeyInUse(claim["key"]) from error
    session.info[_CLAIMED] = claim["key"]


def _finished(row: IdempotencyKey) -> IdempotencyKey:
    """The response of a first use: still waiting to be written in this process, or (another process's)
    read again until it is written, for a few seconds."""
    deadline = time.monotonic() + WAIT_SECONDS
    writer = writer_for(db.engine)
    while row.status is None:
        waiting = writer.waiting(row.key)
        if waiting is not None or time.monotonic() >= deadline:
            return waiting or row
        db.session.rollback()  # end the transaction so the other request can write, then read again
        time.sleep(0.05)
        read_only(db.session)
        row = db.session.get(IdempotencyKey, row.key, populate_existing=True)
    return row


def store(key: str, response: Response) -> None:
    """Keep the response of the first use with its key.

    The key row committed with the change, durably; its response is written behind the request, in
    batches that do not wait for the disk (app.idempotency.responses: a response lost in a power cut is
    replayed as "already saved", which is true), so a change costs one fsync and one write transaction.
    A view that changed nothing claims its key here, with its response.
    """
    headers = json.dumps({h: response.headers[h] for h in KEPT_HEADERS if h in response.headers})
    end_transaction(db.session)  # the view's change, if it left it uncommitted
    if db.session().info.pop(_CLAIMED, None) == key:
        writer_for(db.engine).add(key, response.status_code, headers, response.get_data())
        return
    try:
        lazily_durable(db.session)
    except KeyInUse:  # nothing changed here, and a concurrent first use stores its own response
        db.session.rollback()
        return
    db.session.execute(update(IdempotencyKey).where(IdempotencyKey.key == key).values(
        status=response.status_code, body=response.get_data(), headers_json=headers)
        .execution_options(synchronize_session=False))
    db.session().info.pop(_CLAIMED, None)
    end_transaction(db.session)  # the after-request hooks read the user as loaded, not from the database


def forget_reservation() -> None:
    """Drop a key not claimed yet (the request was refused: repeating the key runs it again)."""
    db.session().info.pop(_PENDING, None)


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
