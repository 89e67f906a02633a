"""What record pages render from: one snapshot of a version's items, its deviations, history and audit trail."""
from app.services.core.errors import DomainError
from app.extensions import db
from app.models import RecordVersion, Submission
from app.security import current_viewer
from app.services.access import scope
from app.services.floor import submissions
from app.services.quality import deviations
from app.services.records import item_views, record_history


def get_record(record_id: str) -> Submission:
    """A submitted record by id, or 404: drafts are not records yet, and a record outside the signed-in
    user's scope answers as if it did not exist (app/services/access/scope.py)."""
    submission = db.session.get(Submission, submissions.normalise_id(record_id))
    if submission is None or not submission.versions:
        raise scope.not_found()
    if not scope.may_read_record(current_viewer(), submission):
        raise scope.out_of_scope("record", submission.id)
    return submission


def get_version(submission: Submission, number: int) -> RecordVersion:
    """Version `number` of a record, or 404."""
    for version in submission.versions:
        if version.version == number:
            return version
    raise DomainError(f"Record {submission.id} has no version {number}.", status=404)


def record_context(submission: Submission, version: RecordVersion | None = None) -> dict:
    """Everything the record and review pages show, each queried once."""
    version = version or submission.versions[-1]
    document = version.document
    raised = deviations.for_submission(submission.id)
    snapshot = item_views.from_document(version.record, submission.form_version.definition, raised)
    return {
        "submission": submission, "version": version, "document": document, "snapshot": snapshot,
        "raised": raised, "item_labels": snapshot.labels(), "latest": submission.versions[-1],
        "signatures": [(s, v) for v in submission.versions for s in v.signatures],
        "history": record_history.record_history(submission, version.version),
        "trail": record_history.audit_trail(submission.id),
    }
