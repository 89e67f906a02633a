"""Floor views: parse, call one service, render."""
import io

from flask import current_app, flash, redirect, render_template, request, send_file, session, url_for
from flask_login import current_user

from app.database import reading, reads_first
from app.extensions import db
from app.floor import bp
from app.floor.context import all_areas, blank_context, current_station, fill_context, get_submission, item_context
from app.floor.schemas import ExplainSchema, StartSchema, StationSchema
from app.htmx import is_htmx, redirect_to
from app.idempotency import idempotent
from app.inputs import load_form, posted_device_time, query_id
from app.roles import FILL_ROLES
from app.security import current_actor, current_viewer, kept_offline_time, landing, outbox_replayable, roles_required, sign_in_page
from app.services.access import scope
from app.services.core.errors import DomainError
from app.services.floor import attachments, catalogue, downtime, schedule, submissions
from app.services.quality import deviations
from app.services.records import versions


@bp.get("/")
def index():
    """Send each person to where their work is."""
    return redirect(landing() if current_user.is_authenticated else sign_in_page())


@bp.get("/floor")
@roles_required(*FILL_ROLES)
def home():
    """Station home: what is due and overdue this shift, the drafts in progress, the forms that apply here."""
    station = current_station()
    if station is None:
        return redirect(url_for("floor.stations"))
    drafts = submissions.drafts_at(station)  # every draft counts for what is due; the list shows the viewer's
    return render_template("floor/home.html", station=station, forms=catalogue.forms_for_station(station),
                           drafts=scope.visible_drafts(current_viewer(), drafts), due=schedule.station_due(station, drafts),
                           downtime=downtime.running_at(station), open_here=deviations.open_at(station.id))


@bp.get("/floor/stations")
@roles_required(*FILL_ROLES)
def stations():
    """Pick the station to work at."""
    return render_template("floor/stations.html", areas=all_areas(), station=current_station())


@bp.post("/floor/station")
@roles_required(*FILL_ROLES)
def choose_station():
    """Remember the chosen station for this session."""
    data = load_form(StationSchema())
    if not any(s.id == data["station_id"] for a in all_areas() for line in a.lines for s in line.stations):
        raise DomainError("Unknown station.", {"station_id": ["Choose a station from the list."]})
    session["station_id"] = data["station_id"]
    return redirect(url_for("floor.home"))


@bp.post("/floor/submissions")
@outbox_replayable
@roles_required(*FILL_ROLES)
@idempotent
def start():
    """Start (or, posted again, reopen) a submission with the tablet's UUID."""
    data = load_form(StartSchema())
    submission = submissions.start_submission(data["id"], data["form_version_id"], data["station_id"], current_actor(),
                                              kept_offline_time(data["device_time"]))
    return redirect(url_for("floor.fill", submission_id=submission.id), code=303)


@bp.get("/floor/submissions/<submission_id>")
@roles_required(*FILL_ROLES)
def fill(submission_id: str):
    """The fill page of a draft (whose it is first, for someone who may take it over), or the record once
    submitted."""
    submission = get_submission(submission_id, write=False)
    if submission.status != "draft":
        return redirect(url_for("records.record", record_id=submission.id))
    if not scope.may_write_draft(current_viewer(), submission):
        return render_template("floor/take_over.html", submission=submission)
    return render_template("floor/fill.html", **fill_context(submission), missing=None)


@bp.post("/floor/submissions/<submission_id>/take-over")
@roles_required(*FILL_ROLES)
def take_over(submission_id: str):
    """Go on with a draft someone else started at this station's tablet (audited)."""
    submission = get_submission(submission_id, write=False)
    submissions.require_draft(submission)
    scope.take_over(current_viewer(), submission, current_actor())
    flash(f"You are now continuing this checklist, started by {submission.started_by.printed_name}.")
    return redirect(url_for("floor.fill", submission_id=submission.id), code=303)


@bp.get("/floor/forms/<int:form_version_id>/blank")
@roles_required(*FILL_ROLES)
def blank(form_version_id: int):
    """The fill page of a form not started yet: the tablet keeps it to start the form offline."""
    context = blank_context(form_version_id, query_id("station"), current_user)
    return render_template("floor/fill.html", **context, missing=None)


@bp.post("/floor/submissions/<submission_id>/items/<item_name>")
@outbox_replayable
@roles_required(*FILL_ROLES)
@idempotent
@reads_first
def save_answer(submission_id: str, item_name: str):
    """Save one answer; answer with the item, its dependents and the progress bar. It reads and judges in the
    request's read-only transaction (reads_first); the service writes in a short transaction of its own."""
    submission = get_submission(submission_id)
    # JSON or plain text would read as no fields at all, that is as a cleared answer: only form data is taken.
    body = request.mimetype or ("an untyped body" if request.content_length else "")
    if body and body not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise DomainError(f"An answer is posted as form fields (value=…), not as {body}.", {"Content-Type": [
            "Expected application/x-www-form-urlencoded or multipart/form-data."]}, status=415)
    device_time = kept_offline_time(posted_device_time())

    def save():
        if request.files:  # a file is never an answer: photos have a route of their own
            raise DomainError("A file is not an answer.", {name: [f"Unknown field “{name}”: photos are added with "
                                                                  "the photo button."] for name in request.files})
        return submissions.save_answer(submission, item_name, request.form.to_dict(flat=False), current_actor(),
                                       device_time=device_time)
    return _saving(submission, item_name, save)


@bp.post("/floor/submissions/<submission_id>/items/<item_name>/explain")
@outbox_replayable
@roles_required(*FILL_ROLES)
@idempotent
def explain(submission_id: str, item_name: str):
    """Save why an answer failed and what was done."""
    submission = get_submission(submission_id)
    data = load_form(ExplainSchema())
    submissions.explain(submission, item_name, data["reason"], data["action"], current_actor(), data["cause_category"])
    reading(db.session)  # the render reads what the change left loaded, without the write lock
    return _item_response(submission, item_name, [])


@bp.post("/floor/submissions/<submission_id>/items/<item_name>/photo")
@outbox_replayable
@roles_required(*FILL_ROLES)
@idempotent
@reads_first
def add_photo(submission_id: str, item_name: str):
    """Store a photo taken with the tablet camera and attach it to the item. The photo is checked and decoded
    in the request's read-only transaction (reads_first): a large one never holds the write lock."""
    submission = get_submission(submission_id)
    submissions.require_draft(submission)
    upload = request.files.get("photo")
    device_time = kept_offline_time(posted_device_time())

    def store():
        photo = attachments.store_photo(upload.read() if upload else b"", current_app.config["PHOTO_MAX_BYTES"],
                                        current_user.id)
        return submissions.add_photo(submission, item_name, photo.sha256, current_actor(), device_time)
    return _saving(submission, item_name, store)


@bp.post("/floor/submissions/<submission_id>/submit")
@outbox_replayable
@roles_required(*FILL_ROLES)
@idempotent
def submit(submission_id: str):
    """Freeze the record, or list what is still missing."""
    submission = get_submission(submission_id)
    submissions.require_draft(submission)
    missing = versions.missing(submission)
    if missing:
        context = fill_context(submission) | {"missing": missing}
        template = "floor/_missing.html" if is_htmx() else "floor/fill.html"
        return render_template(template, **context), 422
    version = versions.submit(submission, current_actor())
    flash(f"✓ Submitted as record version {version.version}. Answers can no longer change.")
    target = url_for("records.record", record_id=submission.id)
    return redirect_to(target)


@bp.get("/floor/photos/<sha256>.jpg")
@roles_required(*FILL_ROLES, "auditor", "admin")
def photo(sha256: str):
    """The EXIF-free display derivative of a stored photo."""
    found = attachments.find(sha256)
    if found is None:
        raise scope.not_found("photo")
    if not scope.may_read_photo(current_viewer(), found):
        raise scope.out_of_scope("photo", sha256)
    # From the blob store, so any server serves it; the derivative's sha256 is its ETag, as a file's would be.
    return send_file(io.BytesIO(attachments.derivative(found)), mimetype="image/jpeg", max_age=0,
                     download_name=f"{found.derivative_sha256}.jpg", etag=found.derivative_sha256,
                     last_modified=found.uploaded_at)


def _saving(submission, item_name: str, save):
    """Run a save; a refused value (422, 413) comes back inside the item, which stays usable."""
    try:
        result = save()
    except DomainError as error:
        if error.status not in (413, 422):
            raise
        db.session.rollback()  # a refused value changed nothing; the render must not hold the write lock
        reading(db.session)
        reasons = " ".join(r for rs in error.errors.values() for r in (rs if isinstance(rs, list) else [rs]))
        return _item_response(submission, item_name, [], error=reasons or error.message, status=error.status)
    reading(db.session)  # committed: the render reads what the save left loaded, without the write lock
    return _item_response(submission, item_name, result.dependents)


def _item_response(submission, item_name: str, dependents: list[str], error: str | None = None, status: int = 200):
    if not is_htmx():  # plain form post: back to the page, at the item
        if error:
            flash(error)
        return redirect(url_for("floor.fill", submission_id=submission.id, _anchor=f"item-{item_name}"), code=303)
    context = item_context(submission)
    html = render_template("floor/_save_response.html", **context, item_name=item_name,
                           dependents=dependents, item_error=error)
    return html, status
