"""A save reads and judges without the write lock, then writes only if the draft's revision is still the one it
read (issue 9: one short write transaction per save). A change committed in between makes it read and judge
again under the lock: it never writes from stale data, on either engine."""
import pytest
from sqlalchemy import select, update

from app.database import read_only
from app.models import Answer, AuditEvent, Submission
from app.models.submission import SUBMITTED
from app.services.core.audit import Actor
from app.services.floor import submissions


def prepared(db, draft_id: str) -> Submission:
    """The draft as a save view has it: read in a read-only transaction, answers and form loaded."""
    db.session.remove()
    read_only(db.session)
    submission = db.session.get(Submission, draft_id)
    assert submission.form_version.definition and submission.answers is not None
    return submission


def meanwhile(app, change) -> None:
    """Another request (its own app context, session and connection) commits a change."""
    from app.extensions import db
    with app.app_context():
        change(db.session)
        db.session.commit()


def test_a_save_prepared_before_another_save_of_the_item_updates_its_answer(app, db, users, start_draft):
    draft, actor = start_draft(users.operator), Actor(users.operator.id)
    submission = prepared(db, draft.id)  # no answer yet, as read
    meanwhile(app, lambda s: submissions.save_answer(s.get(Submission, draft.id), "hydraulic_pressure",
                                                     {"value": ["158"]}, actor))
    result = submissions.save_answer(submission, "hydraulic_pressure", {"value": ["171"]}, actor)
    assert result.changed
    db.session.remove()
    answers = db.session.scalars(select(Answer).where(Answer.submission_id == draft.id)).all()
    assert [(a.item_name, a.value) for a in answers] == [("hydraulic_pressure", 171.0)]
    saved = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "answer.saved")
                               .order_by(AuditEvent.seq)).all()
    # The second save's before is the first one's value, not the empty draft it had read.
    assert [bool(e.before_json and '"value":158' in e.before_json) for e in saved] == [False, True]
    assert db.session.get(Submission, draft.id).revision == 2


def test_a_save_prepared_before_the_draft_was_submitted_is_refused(app, db, users, start_draft):
    draft, actor = start_draft(users.operator), Actor(users.operator.id)
    submission = prepared(db, draft.id)  # a draft, as read
    meanwhile(app, lambda s: s.execute(update(Submission).where(Submission.id == draft.id)
                                       .values(status=SUBMITTED, revision=Submission.revision + 1)))
    with pytest.raises(submissions.NotEditable):
        submissions.save_answer(submission, "hydraulic_pressure", {"value": ["171"]}, actor)
    db.session.rollback()
    assert db.session.scalars(select(Answer).where(Answer.submission_id == draft.id)).all() == []


def test_a_save_with_nothing_in_between_writes_once_and_counts_the_revision(db, users, start_draft):
    draft, actor = start_draft(users.operator), Actor(users.operator.id)
    submission = prepared(db, draft.id)
    submissions.save_answer(submission, "hydraulic_pressure", {"value": ["171"]}, actor)
    db.session.remove()
    assert db.session.get(Submission, draft.id).revision == 1
    assert len(db.session.scalars(select(Answer).where(Answer.submission_id == draft.id)).all()) == 1
