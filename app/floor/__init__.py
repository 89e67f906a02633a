"""The operator's flow: station home, filling a form, submitting it."""
from flask import Blueprint

bp = Blueprint("floor", __name__)


from app.floor import views  # noqa: E402,F401


@bp.app_template_global()
def schedule_text(schedule: dict) -> str:
    """'Every shift', 'Hourly', 'Every 30 min', 'Daily 07:00', 'Weekly mon 07:00', 'On demand'."""
    kind = schedule["kind"]
    return {
        "per_shift": "Every shift", "hourly": "Hourly", "on_demand": "On demand",
        "every": f"Every {schedule.get('minutes')} min", "daily": f"Daily {schedule.get('at')}",
        "weekly": f"Weekly {schedule.get('day')} {schedule.get('at')}",
    }.get(kind, kind)
