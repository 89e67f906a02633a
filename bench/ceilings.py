"""The load bench's ceilings: the app as shipped with two more routes that do part of what a save does and
change nothing, served by gunicorn as shipped (`--pythonpath bench ceilings:app`).

- POST /bench/auth/…: the request as a save sees it up to its view (session, user, tablet, CSRF, role) and
  an empty answer: what the stack costs before any of the save's own work.
- POST /bench/render/…: that, plus reading the draft and rendering the save's response (the item through
  the one macro set, its dependents and the progress bar) from it: a save does all of this and then writes,
  so no save can beat this route's rate.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import render_template  # noqa: E402

from app.database import read_only  # noqa: E402
from app.extensions import db  # noqa: E402
from app.floor.context import get_submission, item_context  # noqa: E402
from app.roles import FILL_ROLES  # noqa: E402
from app.security import roles_required  # noqa: E402
from wsgi import app  # noqa: E402


@roles_required(*FILL_ROLES)
def authenticated(submission_id: str, item_name: str):
    """Nothing after the checks every save passes."""
    return ""


@roles_required(*FILL_ROLES)
def rendered(submission_id: str, item_name: str):
    """The save's response, read and rendered, nothing written."""
    read_only(db.session)
    submission = get_submission(submission_id)
    return render_template("floor/_save_response.html", **item_context(submission), item_name=item_name,
                           dependents=[], item_error=None)


app.add_url_rule("/bench/auth/<submission_id>/items/<item_name>", "bench_auth", authenticated, methods=["POST"])
app.add_url_rule("/bench/render/<submission_id>/items/<item_name>", "bench_render", rendered, methods=["POST"])
