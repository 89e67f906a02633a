"""Downtime at a station: report it with a reason from the reason tree, end it with what fixed it."""
from flask import Blueprint

bp = Blueprint("downtime", __name__)

from app.downtime import views  # noqa: E402,F401
