"""Review views: the queue, the review page, and signing with password re-entry."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import select

from app.extensions import db
from app.htmx import render_page_or_partial
from app.inputs import load_form
from app.models import FormVersion, Line
from app.records.context import get_record, record_context
from app.review import bp
from app.review.schemas import QueueFilterSchema, SignSchema
from app.roles import SIGN_ROLES
from app.security import current_actor, roles_required
from app.services.core.errors import DomainError
from app.services.records import signing


@bp.get("")
@roles_required(*SIGN_ROLES)
def queue():
    """Records waiting for a signature this user may give, oldest first."""
    try:
        filters = QueueFilterSchema().load({k: v for k, v in request.args.items() if v})
    except ValidationError as error:
        raise DomainError("Some filters need attention.", error.messages_dict) from error
    records = signing.review_queue(current_user, filters["line"], filters["form"])
    lines = db.session.scalars(select(Line).order_by(Line.name)).all()
    forms = sorted({f.form_id: f.title for f in db.session.scalars(select(FormVersion))}.items(), key=lambda x: x[1])
    return render_page_or_partial("review/queue.html", "review/_queue.html", records=records, lines=lines,
                                  forms=forms, filters=filters)


@bp.get("/<record_id>")
@roles_required(*SIGN_ROLES)
def review(record_id: str):
    """The record read-only, its versions and trail, and the signing form."""
    return _review_page(get_record(record_id))


def _review_page(submission, error: DomainError | None = None):
    html = render_template("review/review.html", **record_context(submission), can_correct=False, error=error,
                           step=signing.next_step(submission), may_sign=signing.may_sign(current_user, submission),
                           undecided=signing.awaiting_decision(submission))
    return html, error.status if error else 200


@bp.post("/<record_id>/sign")
@roles_required(*SIGN_ROLES)
def sign(record_id: str):
    """Sign the version the signer saw, after re-entering the password."""
    submission = get_record(record_id)
    try:
        data = load_form(SignSchema())
        signing.sign_record(submission, current_user, signing.SignRequest(
            data["username"], data["password"], data["meaning"], data["sha256"], data["comment"]),
            current_actor(), request.remote_addr)
    except DomainError as error:
        db.session.rollback()
        return _review_page(submission, error)
    flash(f"Signed “{data['meaning']}”: {submission.form_version.title} at {submission.station.name}.")
    return redirect(url_for("review.queue"), code=303)
