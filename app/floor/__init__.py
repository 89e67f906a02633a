"""The operator's flow: station home, filling a form, submitting it."""
from flask import Blueprint

bp = Blueprint("floor", __name__)

FILL_ROLES = ("operator", "inspector", "supervisor")

from app.floor import views  # noqa: E402,F401

from app.services import evaluation  # noqa: E402


@bp.app_template_global()
def item_visible(item: dict, values: dict) -> bool:
    """show_if applied to the answers so far."""
    return evaluation.is_visible(item, values)


@bp.app_template_global()
def verdict_for(item: dict, answer, values: dict | None = None) -> "evaluation.Verdict":
    """The verdict of an item's current answer; values (the other answers) feed an item that compares with one."""
    return evaluation.evaluate(item, answer.value if answer else None, values)


@bp.app_template_global()
def schedule_text(schedule: dict) -> str:
    """'Every shift', 'Hourly', 'Every 30 min', 'Daily 07:00', 'Weekly mon 07:00', 'On demand'."""
    kind = schedule["kind"]
    return {
        "per_shift": "Every shift", "hourly": "Hourly", "on_demand": "On demand",
        "every": f"Every {schedule.get('minutes')} min", "daily": f"Daily {schedule.get('at')}",
        "weekly": f"Weekly {schedule.get('day')} {schedule.get('at')}",
    }.get(kind, kind)
