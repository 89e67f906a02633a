"""The live status board: kiosk screens on TVs (no login), their SSE stream, and their administration."""
from flask import Blueprint

bp = Blueprint("board", __name__)

from app.board import views  # noqa: E402,F401
