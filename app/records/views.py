"""Record views: the record page, its PDFs, corrections, and the public verify page."""
import io

from flask import Response, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from app.extensions import db
from app.records import bp, public_base_url
from app.records.context import get_record, get_version, record_context
from app.roles import CORRECT_ROLES, READ_ROLES
from app.security import current_actor, roles_required
from app.services.core.errors import DomainError
from app.services.floor import submissions
from app.services.records import corrections
from app.services.records import pdf as pdf_service
from app.services.records import verify as verify_service


@bp.get("/records/<record_id>")
@roles_required(*READ_ROLES)
def record(record_id: str):
    """The record: current version, signatures, versions and audit trail."""
    submission = get_record(record_id)
    return render_template("records/record.html", **record_context(submission),
                           can_correct=current_user.has_role(*CORRECT_ROLES))


@bp.get("/records/<record_id>.pdf")
@roles_required(*READ_ROLES)
def record_pdf(record_id: str):
    """The PDF of the current version."""
    submission = get_record(record_id)
    return _pdf_response(submission, submission.versions[-1])


@bp.get("/records/<record_id>/v<int:number>.pdf")
@roles_required(*READ_ROLES)
def version_pdf(record_id: str, number: int):
    """The PDF of one version."""
    submission = get_record(record_id)
    return _pdf_response(submission, get_version(submission, number))


def _pdf_response(submission, version) -> Response:
    stored = pdf_service.pdf_for(version, generated_by=current_user.printed_name, base_url=public_base_url())
    name = f"{submission.id}-v{version.version}.pdf"
    # The archived copy, from the blob store: any server serves the same bytes.
    response = send_file(io.BytesIO(stored.read_bytes()), mimetype="application/pdf", download_name=name,
                         etag=stored.sha256)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/records/<record_id>/correct/<item_name>")
@roles_required(*CORRECT_ROLES)
def correct_form(record_id: str, item_name: str):
    """One item of the current version with its value editable, and the reason to give."""
    submission = get_record(record_id)
    return render_template("records/correct.html", **record_context(submission),
                           item=submissions.find_item(submission, item_name), error=None)


@bp.post("/records/<record_id>/correct/<item_name>")
@roles_required(*CORRECT_ROLES)
def correct(record_id: str, item_name: str):
    """Apply a correction as a new version; the record goes back for signing."""
    submission = get_record(record_id)
    form = request.form.to_dict(flat=False)
    try:
        version = corrections.correct_record(submission, item_name, form, request.form.get("reason", ""),
                                             current_user, current_actor())
    except DomainError as error:
        db.session.rollback()
        return render_template("records/correct.html", **record_context(submission),
                               item=submissions.find_item(submission, item_name), error=error), error.status
    flash(f"Corrected: version {version.version} created; its signatures are needed again.")
    return redirect(url_for("records.record", record_id=submission.id), code=303)


@bp.get("/verify")
def verify():
    """Verify a record by hash (?sha256=…), or show the upload form; 422 on the page when it is not a sha256."""
    digest = (request.args.get("sha256") or "").strip().lower()
    try:
        result = verify_service.verify_sha256(digest) if digest else None
    except DomainError as error:
        return render_template("records/verify.html", result=None, sha256=digest, error=error), 422
    return render_template("records/verify.html", result=result, sha256=digest, error=None), 200


@bp.post("/verify")
def verify_upload():
    """Verify an uploaded PDF: genuine only when it is byte for byte an archived copy (422 without a file)."""
    upload = request.files.get("pdf")
    data = upload.read(current_app.config["MAX_CONTENT_LENGTH"]) if upload else b""
    if not data:
        error = DomainError("Choose a PDF file to verify.", {"pdf": ["Required: the record PDF to check."]})
        return render_template("records/verify.html", result=None, sha256="", error=error), 422
    return render_template("records/verify.html", result=verify_service.verify_pdf(data), sha256="",
                           error=None), 200
