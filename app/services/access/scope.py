"""Object scope: who may see and change which draft, record, photo, deviation and downtime. The access matrix,
in one place.

Roles (app/roles.py) say what a person may do at all; this module says to which objects. Every view that
reads or changes a draft, a record or a photo asks here, and an object outside the viewer's scope is
answered 404, as if it did not exist (so ids cannot be probed). The matrix (README, "Access matrix"):

| object | action | who | condition |
| --- | --- | --- | --- |
| draft | write (answer, why, photo, submit) | its starter | - |
| draft | write | supervisor | any station |
| draft | write | operator, inspector | after taking it over (audited) on the registered tablet of its station |
| draft | see (fill page) | those who may write it | - |
| draft | take over | operator, inspector, supervisor | on the registered tablet whose home is the draft's station |
| record (page, PDF) | read | inspector, supervisor, auditor, admin | any station |
| record (page, PDF) | read | operator | their own (started or submitted), or of their tablet's station* |
| deviation (page) | read | inspector, supervisor, auditor, admin | any station |
| deviation (page) | read, add its cause | operator | raised by them, or at their tablet's station* |
| downtime | start, stop | inspector, supervisor | any station |
| downtime | start, stop | operator | on a registered tablet, or one they started |
| photo | read | its uploader; whoever may see the draft or read a record that holds it | - |

(*) The station whose work a person sees through a registered tablet: the one chosen on it, else its home
station; none in a browser that is not a registered tablet, and for an outbox replay only the tablet's home
(security.current_viewer). Choosing a station takes standing at a registered tablet: what an operator
reads follows the tablet they use, never a choice made from a desk. Auditors and admins never see drafts: a
draft is not a record until it is submitted. A deviation is a record of its own from the moment it is raised
(what happened, when, the value then), and the readers of every station's records read every deviation.
"""
from dataclasses import dataclass

from sqlalchemy import exists, or_, select

from app.extensions import db
from app.models import Answer, Attachment, AuditEvent, Deviation, Device, RecordVersion, Submission, User
from app.models.submission import DRAFT
from app.roles import FILL_ROLES
from app.services.core import security_log
from app.services.core import audit
from app.services.core.audit import Actor
from app.services.core.errors import DomainError

ALL_STATIONS = ("inspector", "supervisor", "auditor", "admin")  # read every station's records
ANY_DRAFT = ("supervisor",)  # write any draft (a lead finishing a checklist someone left)
ANY_DOWNTIME = ("inspector", "supervisor")  # report and end downtime at any station, from any browser
TAKE_OVER = "submission.taken_over"


@dataclass(frozen=True)
class Viewer:
    """Who asks: the signed-in user, the registered tablet they use (if any), the station they work at now."""

    user: User
    device: Device | None
    station_id: int | None


def not_found(what: str = "record") -> DomainError:
    """The answer for an object that does not exist."""
    return DomainError(f"No such {what}.", status=404)


def out_of_scope(what: str = "record", object_id=None) -> DomainError:
    """The answer for an object outside the viewer's scope: the same as for one that does not exist, and a
    line in the security log (SEC-LOG-1: every authorization failure)."""
    security_log.event("access.refused", "out_of_scope", object=what, id=object_id)
    return not_found(what)


def _took_over(user: User, submission: Submission) -> bool:
    return bool(db.session.scalar(select(exists().where(
        AuditEvent.entity_type == "submission", AuditEvent.entity_id == submission.id,
        AuditEvent.action == TAKE_OVER, AuditEvent.actor_id == user.id))))


def may_write_draft(viewer: Viewer, submission: Submission) -> bool:
    """The starter, a supervisor, or someone who took it over."""
    user = viewer.user
    return (submission.started_by_id == user.id or user.has_role(*ANY_DRAFT)
            or (user.has_role(*FILL_ROLES) and _took_over(user, submission)))


def may_take_over(viewer: Viewer, submission: Submission) -> bool:
    """Someone who fills forms, on the registered tablet of the draft's station, who may not write it yet."""
    device = viewer.device
    return (submission.status == DRAFT and viewer.user.has_role(*FILL_ROLES) and device is not None
            and device.home_station_id == submission.station_id and not may_write_draft(viewer, submission))


def may_see_draft(viewer: Viewer, submission: Submission) -> bool:
    """Those who may write it, and those who may take it over (they see whose it is first)."""
    return may_write_draft(viewer, submission) or may_take_over(viewer, submission)


def may_read_record(viewer: Viewer, submission: Submission) -> bool:
    """Every station's records for inspectors, supervisors, auditors and admins; an operator's own and
    those of the station they work at."""
    user = viewer.user
    if user.has_role(*ALL_STATIONS):
        return True
    return user.has_role(*FILL_ROLES) and (
        user.id in (submission.started_by_id, submission.submitted_by_id) or viewer.station_id == submission.station_id)


def may_read_deviation(viewer: Viewer, deviation: Deviation) -> bool:
    """Readers of every station; an operator: one they raised, or at their tablet's station."""
    user = viewer.user
    return user.has_role(*ALL_STATIONS) or deviation.raised_by_id == user.id or (
        viewer.station_id is not None and viewer.station_id == deviation.station_id)


def require_deviation(viewer: Viewer, deviation: Deviation) -> None:
    """404 unless the viewer may read this deviation (and so add its cause, if their role records causes)."""
    if not may_read_deviation(viewer, deviation):
        raise out_of_scope("deviation", deviation.id)


def require_downtime(viewer: Viewer, started_by_id: int | None = None) -> None:
    """404 unless the viewer may report or end downtime here: inspectors and supervisors anywhere; an
    operator on a registered tablet (standing at the line), or for a downtime they started."""
    user = viewer.user
    if user.has_role(*ANY_DOWNTIME) or viewer.device is not None or started_by_id == user.id:
        return
    raise out_of_scope("downtime")


def may_open(viewer: Viewer, submission: Submission) -> bool:
    """A draft by may_see_draft, a submitted record by may_read_record."""
    if submission.status == DRAFT:
        return may_see_draft(viewer, submission)
    return may_read_record(viewer, submission)


def require_write(viewer: Viewer, submission: Submission) -> None:
    """404 unless the viewer may change this draft (a submitted record answers 409 in the service)."""
    if submission.status == DRAFT and not may_write_draft(viewer, submission):
        raise out_of_scope("submission", submission.id)
    if submission.status != DRAFT and not may_open(viewer, submission):
        raise out_of_scope("submission", submission.id)


def require_open(viewer: Viewer, submission: Submission) -> None:
    """404 unless the viewer may see this draft or read this record."""
    if not may_open(viewer, submission):
        raise out_of_scope("submission", submission.id)


def take_over(viewer: Viewer, submission: Submission, actor: Actor) -> None:
    """Let the viewer go on with someone else's draft at this station's tablet; audited with whose it was."""
    if not may_take_over(viewer, submission):
        if may_write_draft(viewer, submission):
            return  # already theirs: taking over again changes nothing
        raise out_of_scope("submission", submission.id)
    audit.record(actor, TAKE_OVER, "submission", submission.id,
                 before={"started_by": submission.started_by.printed_name},
                 after={"continued_by": viewer.user.printed_name, "station_id": submission.station_id})
    db.session.commit()


def may_read_photo(viewer: Viewer, attachment: Attachment) -> bool:
    """Its uploader, or whoever may open a draft or record that holds it (in an answer or a version)."""
    if attachment.uploaded_by_id == viewer.user.id:
        return True
    holders = select(Answer.submission_id).where(Answer.value_json.contains(attachment.sha256))
    in_versions = select(RecordVersion.submission_id).where(RecordVersion.canonical_json.contains(attachment.sha256))
    found = db.session.scalars(select(Submission).where(
        or_(Submission.id.in_(holders), Submission.id.in_(in_versions))))
    return any(may_open(viewer, submission) for submission in found)


def visible_drafts(viewer: Viewer, drafts: list[Submission]) -> list[Submission]:
    """The drafts of a list the viewer may see (a station home lists only those)."""
    return [draft for draft in drafts if may_see_draft(viewer, draft)]
