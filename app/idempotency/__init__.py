"""The @idempotent view decorator: every state-changing tablet endpoint honours Idempotency-Key."""
from functools import wraps
from typing import Callable

from flask import Response, make_response
from flask_login import current_user

from app.extensions import db
from app.htmx import is_htmx
from app.idempotency import store as idempotency


def _answered(key: str, response: Response) -> Response:
    """Say which change this answer is for, in a form a script can read.

    The echoed key is how the tablet's outbox knows the change reached this endpoint (a sign-in page
    or a proxy in between answers without it); a redirect becomes HX-Redirect for htmx and for the
    outbox, whose fetch cannot read where an opaque redirect leads.
    """
    if is_htmx() and 300 <= response.status_code < 400:
        location = response.headers.pop("Location")
        response.status_code, response.headers["HX-Redirect"] = 204, location
        response.set_data(b"")
    response.headers[idempotency.HEADER] = key
    return response


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
        print_ = idempotency.fingerprint(user_id)
        earlier = idempotency.earlier_use(key, print_)
        if earlier is not None:
            return _answered(key, idempotency.replay(earlier))
        idempotency.reserve(key, print_, user_id)
        try:
            response = make_response(view(*args, **kwargs))
        except idempotency.KeyInUse:  # a concurrent first use claimed the key: its change stands, this replays it
            db.session.rollback()
            return _answered(key, idempotency.replay(idempotency.earlier_use(key, print_)))
        except Exception:
            db.session.rollback()
            idempotency.forget_reservation()
            raise
        if response.status_code >= 400:
            db.session.rollback()
            idempotency.forget_reservation()
            return response
        idempotency.store(key, response)
        return _answered(key, response)
    return wrapped
