"""Inspector review and electronic signing."""
from flask import Blueprint
from flask_login import current_user

from app.roles import SIGN_ROLES

bp = Blueprint("review", __name__, url_prefix="/review")


from app.review import views  # noqa: E402,F401


@bp.app_context_processor
def _queue_count() -> dict:
    # The navigation shows how many records wait for this user's signature.
    from app.services.records.signing import review_queue

    if getattr(current_user, "is_authenticated", False) and current_user.has_role(*SIGN_ROLES):
        return {"review_count": len(review_queue(current_user))}
    return {"review_count": None}
