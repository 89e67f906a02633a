"""Search views: find records, export them as a ZIP of PDFs with an index, or as a CSV of answers."""
from typing import Mapping

from flask import Response, request, stream_with_context, url_for
from flask_login import current_user

from app.htmx import render_page_or_partial, show_address
from app.inputs import given_args
from app.models.types import utcnow
from app.records import bp, public_base_url
from app.records.schemas import load_query
from app.roles import SEARCH_ROLES
from app.security import roles_required
from app.services.core.errors import DomainError
from app.services.records import exports, search
from app.services.records import pdf as pdf_service


def _query() -> search.RecordQuery:
    return load_query(request.args.to_dict())


def search_address(args: Mapping[str, str]) -> str:
    """The URL of the search these arguments ask for: only the filters that are set, in one order, page and
    page size when not the defaults; the arguments as typed (less the blank ones) when a filter is invalid."""
    try:
        query = load_query(args)
    except DomainError:
        return url_for("records.search", **given_args(args))
    return url_for("records.search", **query.page_args(query.page))


@bp.get("/records", endpoint="search")
@roles_required(*SEARCH_ROLES)
def search_page():
    """Search records by date, line, station, form, status, people, out-of-spec and text."""
    try:
        query, errors, status = _query(), {}, 200
    except DomainError as error:
        query, errors, status = None, error.errors, error.status
    response = render_page_or_partial("records/search.html", "records/_results.html", status=status, query=query,
                                      result=search.search_records(query) if query else None, errors=errors,
                                      **search.filter_options())
    return show_address(response, search_address)


def _attachment(name: str, body, mimetype: str) -> Response:
    response = Response(stream_with_context(body), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/records/export.zip")
@roles_required(*SEARCH_ROLES)
def export_zip():
    """A streamed ZIP of the current version's PDF of every matching record, plus index.csv."""
    query, who, base = _query(), current_user.printed_name, public_base_url()

    def provider(version) -> bytes:
        return pdf_service.pdf_for(version, generated_by=who, base_url=base).read_bytes()
    stamp = utcnow().strftime("%Y%m%dT%H%MZ")
    return _attachment(f"floorbook-records-{stamp}.zip", exports.zip_stream(search.iter_matching(query), provider),
                       "application/zip")


@bp.get("/records/answers.csv")
@roles_required(*SEARCH_ROLES)
def answers_csv():
    """One CSV row per answer of every matching record, with limits and verdicts."""
    stamp = utcnow().strftime("%Y%m%dT%H%MZ")
    return _attachment(f"floorbook-answers-{stamp}.csv", exports.answers_csv(search.iter_matching(_query())),
                       "text/csv; charset=utf-8")
