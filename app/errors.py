"""One place that answers errors as an HTML page, an htmx fragment or JSON, as the request wants."""
from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import db
from app.services.core import security_log
from app.services.core.errors import DomainError
from app.htmx import is_htmx


CSRF_MESSAGE = "The form expired or was not sent from this site. Reload the page and try again."




def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status: int, code: str, message: str, errors: dict | None = None):
    """Answer in the shape the request wants."""
    if _wants_json():
        body = {"code": code, "status": status, "message": message, "errors": errors or {}}
        return jsonify(body), status
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    html = render_template(template, status=status, code=code, message=message, errors=errors or {})
    return html, status


def register_error_handlers(app: Flask) -> None:
    """Bind the handlers to app."""

    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        db.session.rollback()
        return error_response(error.status, "domain_error", error.message, error.errors)

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        return error_response(400, "csrf", CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        if error.code in (401, 403):  # not signed in, a role that may not, a request from another site
            security_log.event("access.refused", code, status=error.code, reason=error.description)
        return error_response(error.code or 500, code, error.description or error.name)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error")
        return error_response(500, "internal_error", InternalServerError.description)
