"""Corrections after submit: a new record version with a reason; earlier versions never change."""
from typing import Mapping

from app.services.core.errors import DomainError
from app.extensions import db
from app.items import item_type
from app.models import RecordVersion, Submission, User
from app.models.submission import SIGNED, SUBMITTED
from app.models.types import utcnow
from app.services.core import audit
from app.services.quality import deviations
from app.services.core.audit import Actor
from app.services.records.versions import add_version
from app.services.records.signing import refresh_awaiting
from app.services.floor.submissions import find_item, parse_posted


def correct_record(submission: Submission, item_name: str, form: Mapping[str, list[str]], reason: str,
                   corrector: User, actor: Actor) -> RecordVersion:
    """Change one answer of a submitted record as version n+1; signatures on version n become superseded.

    A new failure the correction brings raises its deviation (deviations.on_correction)."""
    if submission.status not in (SUBMITTED, SIGNED):
        raise DomainError("Only a submitted record can be corrected.", status=409)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why the record is corrected.", {"reason": ["Required for every correction."]})
    item = find_item(submission, item_name)
    if not item_type(item).correctable:
        raise DomainError(f"A {item['type']} item cannot be corrected.", status=400)
    # The reason is posted beside the answer's own fields; every other field is the item's or refused.
    value = parse_posted(item, {name: values for name, values in form.items() if name != "reason"}, "value")
    previous = submission.versions[-1]
    before = previous.record
    old = before.values().get(item_name)
    if old == value:
        raise DomainError("The new value is the same as the current one.", {"value": ["Nothing to correct."]})
    now = utcnow()
    document = before.with_correction(submission.form_version.definition, item_name, value, reason, corrector, now)
    version = add_version(submission, document, actor, reason=reason)
    deviations.on_correction(submission, before, document, corrector, now, actor)
    submission.status = SUBMITTED
    refresh_awaiting(submission)
    audit.record(actor, "record.corrected", "submission", submission.id, reason=reason,
                 before={"item": item_name, "value": old, "version": previous.version},
                 after={"item": item_name, "value": value, "version": version.version, "sha256": version.sha256})
    db.session.commit()
    return version


def history(submission: Submission) -> list[dict]:
    """Every correction of the record, oldest first, as frozen in its versions."""
    return [v.record.correction.to_dict() | {"version": v.version} for v in submission.versions
            if v.record.correction is not None]
