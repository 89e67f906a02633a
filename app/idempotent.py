"""The @idempotent view decorator: every state-changing tablet endpoint honours Idempotency-Key."""
from functools import wraps
from typing import Callable

from flask import make_response
from flask_login import current_user

from app.extensions import db
from app.services import idempotency


def idempotent(view: Callable) -> Callable:
    """Run view once per key; repeats get the first response, a changed request with the key gets 422.

    Only successful responses are kept: a refused request (a validation error, a conflict) changed
    nothing, so repeating its key runs it again and may succeed once the reason is gone.
    """
    @wraps(view)
    def wrapped(*args, **kwargs):
        key = idempotency.requested_key()
        if key is None:
            return view(*args, **kwargs)
        user_id = current_user.id if current_user.is_authenticated else None
        earlier = idempotency.claim(key, idempotency.fingerprint(user_id), user_id)
        if earlier is not None:
            return idempotency.replay(earlier)
        try:
            response = make_response(view(*args, **kwargs))
        except Exception:
            db.session.rollback()
            raise
        if response.status_code >= 400:
            db.session.rollback()
            return response
        idempotency.store(key, response)
        return response
    wrapped.accepts_outbox_token = True  # app.security lets a tablet's outbox replay reach it
    return wrapped
