"""Deviations: the supervisor's inbox and search, a page per deviation with its steps, raising one by hand."""
from flask import Blueprint
from flask_login import current_user

from app.roles import STEP_ROLES

bp = Blueprint("deviations", __name__, url_prefix="/deviations")


from app.deviations import views  # noqa: E402,F401
from app.services.quality import deviations  # noqa: E402


@bp.app_context_processor
def _open_count() -> dict:
    # The navigation shows how many deviations are open or acknowledged to those who act on them.
    if getattr(current_user, "is_authenticated", False) and current_user.has_role(*STEP_ROLES):
        return {"deviation_count": deviations.open_count()}
    return {"deviation_count": None}


@bp.app_template_global()
def cause_categories() -> list[str]:
    """The configured cause categories."""
    return deviations.cause_categories()


@bp.app_template_filter()
def decision_words(decision: str | None) -> str:
    """'stop_line' → 'Stop line'."""
    return deviations.DECISION_WORDS.get(decision or "", "")


@bp.app_template_filter()
def deviation_status(status: str) -> str:
    """'acknowledged' → 'Acknowledged'."""
    return deviations.STATUS_WORDS.get(status, status)
