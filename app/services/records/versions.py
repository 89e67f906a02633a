"""Submitting a draft: what is missing, and freezing it as RecordVersion 1 (a RecordDocument: JSON + sha256)."""
from dataclasses import dataclass

from sqlalchemy import select

from app.canonical import sha256_hex
from app.services.core.errors import DomainError
from app.extensions import db
from app.models import RecordVersion, Site, Submission
from app.models.submission import SUBMITTED
from app.models.types import utcnow
from app.services.board import board_feed
from app.services.core import audit, text_index
from app.services.floor import evaluation
from app.services.core.audit import Actor
from app.services.jobs.record_pdf import queue_record_pdf
from app.services.records import item_views
from app.services.records.record_document import RecordDocument
from app.services.records.signing import refresh_awaiting
from app.services.floor.submissions import require_draft


@dataclass(frozen=True)
class Missing:
    """Something that stops a submit: the item, its label and what it needs."""

    item: str
    label: str
    need: str


@dataclass(frozen=True)
class Progress:
    """What submit asks for (required answers, reasons and actions for failures): given, out of all."""

    answered: int
    required: int
    unanswered: tuple[str, ...] = ()  # required items with no answer yet: the tablet counts those it keeps offline

    @property
    def percent(self) -> int:
        """0–100."""
        return 100 if not self.required else round(100 * self.answered / self.required)


def progress(submission: Submission, snapshot: "item_views.Snapshot | None" = None) -> Progress:
    """How far the operator is, counted over what submit asks for (so it agrees with missing). snapshot:
    the request's item views of this draft, when it has them (nothing is judged twice)."""
    asks = _asks(submission, snapshot)
    unanswered = tuple(need.item for need, given in asks if not given and need.need == "an answer")
    return Progress(sum(1 for _need, given in asks if given), len(asks), unanswered)


def missing(submission: Submission, snapshot: "item_views.Snapshot | None" = None) -> list[Missing]:
    """Unanswered required items, and failures without the explanation on_fail asks for."""
    return [need for need, given in _asks(submission, snapshot) if not given]


def _asks(submission: Submission, snapshot: "item_views.Snapshot | None") -> list[tuple[Missing, bool]]:
    # One list for progress and missing: what submit asks for, each with whether it is given yet. The
    # snapshot's verdicts are judged against today's answers (a scan's moves when the answer it expects does).
    views = (snapshot or item_views.from_draft(submission, raised=())).items
    result = [(Missing(v.name, v.item["label"], "an answer"), evaluation.is_answered(v.item, v.value))
              for v in views if v.visible and v.item["required"]]
    for view in views:
        if not (view.answered and view.visible and view.verdict.state == "fail"):
            continue
        needs = (view.item.get("on_fail") or {}).get("require", ["reason"])
        if "reason" in needs:
            result.append((Missing(view.name, view.item["label"], "a reason for the failure"), bool(view.reason)))
        if "action" in needs:
            result.append((Missing(view.name, view.item["label"], "the action taken"), bool(view.action)))
    return result


def search_words(document: RecordDocument) -> str:
    """The lowercase text free-text search looks in: form, place, people, explanations."""
    words = [document.form.title, document.form.id, document.area, document.line, document.station,
             document.started_by.printed_name if document.started_by else ""]
    words += [i.reason or "" for i in document.items] + [i.action or "" for i in document.items]
    return " ".join(w for w in words if w).lower()


def add_version(submission: Submission, document: RecordDocument, actor: Actor,
                reason: str | None = None) -> RecordVersion:
    """Freeze document as the submission's next version and keep its search columns and text in step."""
    body = document.canonical_json()
    version = RecordVersion(submission=submission, version=document.version, canonical_json=body,
                            sha256=sha256_hex(body), created_by_id=actor.user_id, reason=reason)
    db.session.add(version)
    submission.current_version, submission.current_sha256 = version.version, version.sha256
    summary = document.summary
    submission.fail_count, submission.warn_count = summary["fail"], summary["warn"]
    text_index.put("record", submission.id, search_words(document))  # the superseded version's words go
    db.session.flush()
    queue_record_pdf(version)  # the worker stores its PDF after the commit; the request does not wait
    return version


def submit(submission: Submission, actor: Actor) -> RecordVersion:
    """Freeze a complete draft as RecordVersion 1; after this no route changes an answer."""
    require_draft(submission)
    gaps = missing(submission)
    if gaps:
        raise DomainError("Some items still need attention.", {g.item: [f"Needs {g.need}."] for g in gaps})
    submission.status, submission.submitted_at, submission.submitted_by_id = SUBMITTED, utcnow(), actor.user_id
    submission.revision = Submission.revision + 1  # in SQL: a save prepared before this finds it submitted
    db.session.flush()
    site = db.session.scalar(select(Site))
    version = add_version(submission, RecordDocument.from_draft(submission, 1, site), actor)
    refresh_awaiting(submission)
    audit.record(actor, "submission.submitted", "submission", submission.id, after={"version": 1, "sha256": version.sha256})
    board_feed.touch("submitted", submission.station_id)  # done/due/overdue counts change on the board
    db.session.commit()
    return version
