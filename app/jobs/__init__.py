"""Background jobs for admins: the queue's state, each job's last error, and a retry; and the `worker` command."""
from flask import Blueprint

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")

from app.jobs import views  # noqa: E402,F401
