"""Records for auditors: search, record pages, PDFs, exports, corrections, verification."""
from flask import Blueprint, current_app, request

bp = Blueprint("records", __name__)



def public_base_url() -> str:
    """The address printed in PDFs (the verify link): FLOORBOOK_PUBLIC_URL when set, which a request's
    Host header cannot change (a PDF stored once is served to everyone after), else this request's host."""
    return (current_app.config["PUBLIC_URL"] or request.host_url).rstrip("/")

from app.records import export_views, search_views, views  # noqa: E402,F401
