"""Export views: the streamed ZIP of PDFs and the answers CSV of a search, and their progress for the page."""
import uuid

from flask import Response, render_template, request, stream_with_context
from flask_login import current_user

from app.models.types import utcnow
from app.records import bp, public_base_url
from app.records.schemas import load_query
from app.roles import SEARCH_ROLES
from app.security import roles_required
from app.services.core import security_log
from app.services.records import export_progress, exports

KINDS = ("zip", "csv")


@bp.context_processor
def _export_ids() -> dict:
    return {"new_export_id": lambda: str(uuid.uuid4())}  # each rendered download link counts its own run


def _query():
    return load_query({k: v for k, v in request.args.items() if k not in ("export", "kind")})


def _attachment(name: str, body, mimetype: str) -> Response:
    security_log.event("records.exported", "started", file=name, query=request.query_string.decode(errors="replace"))
    response = Response(stream_with_context(body), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/records/export.zip")
@roles_required(*SEARCH_ROLES)
def export_zip():
    """A streamed ZIP of the current version's PDF of every matching record, plus index.csv."""
    query, run_id = _query(), export_progress.export_id(request.args.get("export"))
    body = exports.zip_export(query, run_id, current_user.id, current_user.printed_name, public_base_url())
    return _attachment(f"floorbook-records-{utcnow():%Y%m%dT%H%MZ}.zip", body, "application/zip")


@bp.get("/records/answers.csv")
@roles_required(*SEARCH_ROLES)
def answers_csv():
    """One CSV row per answer of every matching record, with limits and verdicts."""
    query, run_id = _query(), export_progress.export_id(request.args.get("export"))
    body = exports.csv_export(query, run_id, current_user.id)
    return _attachment(f"floorbook-answers-{utcnow():%Y%m%dT%H%MZ}.csv", body, "text/csv; charset=utf-8")


@bp.get("/records/exports/<export_id>")
@roles_required(*SEARCH_ROLES)
def export_progress_fragment(export_id: str):
    """The download link with how far its export has got (htmx polls it every second until it is done)."""
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else "zip"
    run_id = export_progress.export_id(export_id)
    return render_template("records/_export.html", kind=kind, export_id=run_id, filters=_query().filter_args(),
                           run=export_progress.find(run_id, current_user.id), asked=True)
