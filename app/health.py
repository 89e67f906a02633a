"""GET /healthz: the process answers and the database does too."""
from flask import Blueprint, jsonify
from sqlalchemy import text

from app.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """{"status": "ok", "db": "ok"} with 200, or 503 naming the failure."""
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception as error:  # any database failure is a health failure
        db.session.rollback()
        return jsonify(status="error", db=f"error: {type(error).__name__}"), 503
    return jsonify(status="ok", db="ok")
