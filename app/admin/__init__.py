"""Administration: registered tablets, users and sign-in locks."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from app.admin import lockouts, views  # noqa: E402,F401
