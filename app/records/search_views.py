"""Search views: find records by date, place, form, people and words (exports: export_views)."""
from typing import Mapping

from flask import request, url_for

from app.htmx import render_page_or_partial, show_address
from app.inputs import given_args
from app.records import bp
from app.records.schemas import load_query
from app.roles import SEARCH_ROLES
from app.security import roles_required
from app.services.core.errors import DomainError
from app.services.records import search


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
