"""What record pages render from: a version's document shaped for the item macros, plus its history."""
from sqlalchemy import select

from app.errors import DomainError
from app.extensions import db
from app.models import AuditEvent, RecordVersion, Submission
from app.services import submissions
from app.services.documents import document_answers, document_values


def get_record(record_id: str) -> Submission:
    """A submitted record by id, or 404 (drafts are not records yet)."""
    submission = db.session.get(Submission, submissions.normalise_id(record_id))
    if submission is None or not submission.versions:
        raise DomainError("No such record.", status=404)
    return submission


def get_version(submission: Submission, number: int) -> RecordVersion:
    """Version `number` of a record, or 404."""
    for version in submission.versions:
        if version.version == number:
            return version
    raise DomainError(f"Record {submission.id} has no version {number}.", status=404)


def record_context(submission: Submission, version: RecordVersion | None = None) -> dict:
    """Everything the record and review pages show."""
    version = version or submission.versions[-1]
    document = version.document
    trail = db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "submission", AuditEvent.entity_id == submission.id).order_by(AuditEvent.seq)).all()
    return {
        "submission": submission, "version": version, "document": document,
        "definition": submission.form_version.definition, "answers": document_answers(document),
        "values": document_values(document), "editable": False, "latest": submission.versions[-1],
        "signatures": [(s, v) for v in submission.versions for s in v.signatures], "trail": trail,
    }
