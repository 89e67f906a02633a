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

from app.database import reads_first  # noqa: E402
from app.floor.context import get_submission  # noqa: E402
from app.floor.views import _item_response  # noqa: E402 (the save view's render, so the ceiling renders the same)
from app.roles import FILL_ROLES  # noqa: E402
from app.security import roles_required  # noqa: E402
from wsgi import app  # noqa: E402


@roles_required(*FILL_ROLES)
def authenticated(submission_id: str, item_name: str):
    """Nothing after the checks every save passes."""
    return ""


@roles_required(*FILL_ROLES)
@reads_first
def rendered(submission_id: str, item_name: str):
    """The save's response, read (in the request's read-only transaction, as a save reads) and rendered by the
    save's own code, nothing written."""
    return _item_response(get_submission(submission_id), item_name, [])


app.add_url_rule("/bench/auth/<submission_id>/items/<item_name>", "bench_auth", authenticated, methods=["POST"])
app.add_url_rule("/bench/render/<submission_id>/items/<item_name>", "bench_render", rendered, methods=["POST"])
