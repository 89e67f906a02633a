"""Records for auditors: search, record pages, PDFs, exports, corrections, verification."""
from flask import Blueprint

bp = Blueprint("records", __name__)

READ_ROLES = ("operator", "inspector", "supervisor", "auditor", "admin")
SEARCH_ROLES = ("inspector", "supervisor", "auditor", "admin")
CORRECT_ROLES = ("inspector", "supervisor")

from app.records import search_views, views  # noqa: E402,F401
