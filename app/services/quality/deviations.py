"""Deviations: raised at once by a failing answer or by hand, then acknowledged, decided, resolved and closed.

Every change writes an audit event (entity "deviation") and a board_event in the change's own transaction.
The answer hook runs inside the answer's transaction and leaves the commit to the caller.
"""
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from app.canonical import canonical_json, sha256_hex
from app.extensions import db
from app.models import Answer, AuditEvent, Deviation, Station, Submission, User
from app.models.deviation import ACKNOWLEDGED, CLOSED, DECISIONS, OPEN, RESOLVED
from app.models.types import utcnow
from app.roles import DECIDER_ROLES
from app.services.board import board_feed
from app.services.core import audit
from app.services.core.audit import Actor
from app.services.core import text_index
from app.services.core.errors import DomainError
from app.services.floor import evaluation, reasons
from app.services.quality.deviation_search import DeviationPage, DeviationQuery, inbox, open_count, search
from app.services.quality.deviation_text import (
    DECISION_WORDS,
    STATUS_WORDS,
    answer_statement,
    closing_words,
    correction_statement,
    item_labels,
    print_row,
    search_words,
)

if TYPE_CHECKING:  # record_document imports submissions, which imports this module
    from app.services.records.record_document import RecordDocument

__all__ = [
    "DECISION_WORDS", "DECIDER_ROLES", "DeviationConflict", "DeviationPage", "DeviationQuery", "STATUS_WORDS",
    "acknowledge", "cause_categories", "close", "decide", "decider", "deciders", "digest", "for_submission",
    "get_deviation", "get_station", "inbox", "item_deviation", "item_label", "on_answer", "open_at",
    "open_by_station", "open_count", "print_rows", "raise_manual", "record_cause", "resolve", "search", "set_cause",
    "timeline",
]

ACTIVE = (OPEN, ACKNOWLEDGED)
TEXT_MAX = 2000


class DeviationConflict(DomainError):
    """The step does not fit the deviation's status (open → acknowledged → resolved → closed)."""

    status = 409


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text[:TEXT_MAX] or None


def _state(deviation: Deviation) -> dict[str, Any]:
    at = {name: getattr(deviation, name) for name in ("acknowledged_at", "decided_at", "resolved_at", "closed_at")}
    return {
        "status": deviation.status, "station_id": deviation.station_id, "submission_id": deviation.submission_id,
        "item_name": deviation.item_name, "source": deviation.source, "what_happened": deviation.what_happened,
        "cause_category": deviation.cause_category, "cause": deviation.cause,
        "immediate_action": deviation.immediate_action, "options_considered": deviation.options_considered,
        "constraints": deviation.constraints, "decision": deviation.decision,
        "decision_notes": deviation.decision_notes,
        "decided_by_id": deviation.decided_by_id, "resolution": deviation.resolution,
        **{name: value.isoformat() if value else None for name, value in at.items()},
    }


def _changed(deviation: Deviation, action: str, before: dict, actor: Actor) -> None:
    """Audit a step with before/after and tell the boards, in the step's transaction."""
    db.session.flush()
    text_index.put("deviation", str(deviation.id), search_words(deviation))
    audit.record(actor, action, "deviation", deviation.id, before=before, after=_state(deviation))
    board_feed.touch("deviation", deviation.station_id)


def _raise(station_id: int, actor: Actor, **fields: Any) -> Deviation:
    deviation = Deviation(station_id=station_id, status=OPEN, raised_by_id=actor.user_id, raised_at=utcnow(), **fields)
    db.session.add(deviation)
    db.session.flush()
    text_index.put("deviation", str(deviation.id), search_words(deviation))
    audit.record(actor, "deviation.raised", "deviation", deviation.id, after=_state(deviation))
    board_feed.touch("deviation", station_id)
    return deviation


def get_deviation(deviation_id: int) -> Deviation:
    """The deviation, or a 404."""
    deviation = db.session.get(Deviation, deviation_id)
    if deviation is None:
        raise DomainError(f"There is no deviation #{deviation_id}.", status=404)
    return deviation


def get_station(station_id: int | None) -> Station:
    """The station a deviation is raised at: 422 when none is given, 404 when it does not exist."""
    if station_id is None:
        raise DomainError("Open this from a station's home.", {"station_id": ["Choose the station first."]})
    station = db.session.get(Station, station_id)
    if station is None:
        raise DomainError(f"There is no station with id {station_id}.", status=404)
    return station


# ---- raised by answers ---------------------------------------------------------------------

def item_deviation(submission_id: str, item_name: str) -> Deviation | None:
    """The item's newest deviation raised by its answer that is still open or acknowledged."""
    return db.session.scalar(select(Deviation).where(
        Deviation.submission_id == submission_id, Deviation.item_name == item_name, Deviation.source == "answer",
        Deviation.status.in_(ACTIVE)).order_by(Deviation.id.desc()).limit(1))


def _sync_item(submission: Submission, item: dict, answer: Answer | None, state: str, visible: bool,
               actor: Actor) -> None:
    current = item_deviation(submission.id, item["name"])
    _sync_with(submission, item, answer, state, visible, actor, current)


def _sync_with(submission: Submission, item: dict, answer: Answer | None, state: str, visible: bool,
               actor: Actor, current: Deviation | None) -> None:
    if state == "fail" and visible and answer is not None:
        statement = answer_statement(submission, item, answer, answer.answered_by)
        if current is None:
            # An explanation already given for this answer (kept across value changes) is the cause so far.
            _raise(submission.station_id, actor, submission_id=submission.id, item_name=item["name"], source="answer",
                   what_happened=statement, cause=answer.reason, immediate_action=answer.action)
        elif current.what_happened != statement:
            before = _state(current)
            current.what_happened = statement
            _changed(current, "deviation.updated", before, actor)
    elif current is not None and current.status == OPEN:
        # The failure is gone before anyone acted on it: closed with the reason, never deleted.
        before, now = _state(current), utcnow()
        current.status = CLOSED
        current.resolution = closing_words(item, answer.value if answer else None, state, visible)
        current.resolved_by_id = current.closed_by_id = actor.user_id
        current.resolved_at = current.closed_at = now
        _changed(current, "deviation.closed", before, actor)


def on_answer(submission: Submission, item_name: str, verdict: evaluation.Verdict, actor: Actor,
              was_failing: bool = True) -> None:
    """Keep the item's deviation in step with its new answer: raise on fail, update, or close when it passes.

    Items whose show_if depends on this answer are kept in step too (a hidden item's failure no longer counts).
    Runs in the answer's transaction; the caller commits. was_failing: the answer replaced a failing one.
    """
    definition = submission.form_version.definition
    items = {item["name"]: item for _s, item in evaluation.iter_items(definition)}
    answers = {a.item_name: a for a in submission.answers}
    values = {name: a.value for name, a in answers.items()}
    shown = evaluation.visible_names(definition, values)
    # Only a failure raises, and a passing answer only closes an open deviation, which exists only while the
    # answer before it failed: a pass after a pass has nothing to look up (most saves).
    if verdict.state == "fail" or was_failing:
        _sync_item(submission, items[item_name], answers.get(item_name), verdict.state, item_name in shown, actor)
    for name in evaluation.dependents(definition, item_name, transitive=True):
        answer = answers.get(name)
        state = evaluation.evaluate(items[name], answer.value if answer else None, values).state
        # A failing one's visibility can raise or close; one that failed may pass now (a scan's expected answer).
        if state == "fail" or (answer is not None and answer.state == "fail"):
            _sync_item(submission, items[name], answer, state, name in shown, actor)


def on_correction(submission: Submission, before: "RecordDocument", after: "RecordDocument", corrector: User,
                  at: datetime, actor: Actor) -> list[Deviation]:
    """A correction that makes an item fail raises a deviation for it (source 'correction'), unless one is
    still open or acknowledged for that item. One that makes a failing item pass leaves its deviation to
    the supervisor: after submission, only a person closes a deviation. Runs in the correction's transaction."""
    items = {item["name"]: item for _s, item in evaluation.iter_items(submission.form_version.definition)}
    failed = {e.item for e in before.items if e.visible and e.verdict.state == "fail"}
    active = set(db.session.scalars(select(Deviation.item_name).where(
        Deviation.submission_id == submission.id, Deviation.status.in_(ACTIVE))))
    raised = []
    for entry in after.items:
        if entry.visible and entry.verdict.state == "fail" and entry.item not in failed | active:
            statement = correction_statement(submission, items[entry.item], entry.value, corrector, after.version, at,
                                             after.values())
            raised.append(_raise(submission.station_id, actor, submission_id=submission.id, item_name=entry.item,
                                 source="correction", what_happened=statement))
    return raised


# ---- causes and manual raising -------------------------------------------------------------

def _category(category: str | None) -> str | None:
    category = _clean(category)
    if category is not None and category not in reasons.deviation_causes():
        raise DomainError("Choose the cause category from the list.", {"cause_category": [
            f"“{category}” is not a cause category; choose one of: {', '.join(reasons.deviation_causes())}."]})
    return category


def set_cause(deviation: Deviation, category: str | None, cause: str | None, immediate_action: str | None,
              actor: Actor) -> bool:
    """record_cause without the commit (the explain prompt saves it with the answer); True when it changed."""
    if deviation.status not in ACTIVE:
        raise DeviationConflict(f"Deviation #{deviation.id} is {deviation.status}; its cause can no longer change.")
    new = (_category(category), _clean(cause), _clean(immediate_action))
    if new == (deviation.cause_category, deviation.cause, deviation.immediate_action):
        return False
    before = _state(deviation)
    deviation.cause_category, deviation.cause, deviation.immediate_action = new
    _changed(deviation, "deviation.cause_recorded", before, actor)
    return True


def record_cause(deviation: Deviation, category: str | None, cause: str | None, immediate_action: str | None,
                 actor: Actor) -> Deviation:
    """Record why it happened (category from the configured list + words) and the immediate action taken."""
    if not any(_clean(text) for text in (category, cause, immediate_action)):
        raise DomainError("Give the cause or the immediate action.", {
            "cause": ["Say what caused it, e.g. “relief valve drifted after warm-up”."]})
    set_cause(deviation, category, cause, immediate_action, actor)
    db.session.commit()
    return deviation


def raise_manual(station: Station, what_happened: str, category: str | None, cause: str | None,
                 immediate_action: str | None, actor: Actor) -> Deviation:
    """Raise a deviation by hand at a station: what happened, and (if known) its cause and the action taken."""
    what = _clean(what_happened)
    if what is None:
        raise DomainError("Say what happened.", {"what_happened": [
            "Describe the problem, e.g. “coil edge cracked on Press 1, three parts set aside”."]})
    deviation = _raise(station.id, actor, source="manual", what_happened=what, cause_category=_category(category),
                       cause=_clean(cause), immediate_action=_clean(immediate_action))
    db.session.commit()
    return deviation


# ---- the supervisor's steps ----------------------------------------------------------------

def _require(deviation: Deviation, wanted: tuple[str, ...], message: str) -> None:
    if deviation.status not in wanted:
        raise DeviationConflict(message.format(n=deviation.id, status=STATUS_WORDS[deviation.status].lower()))


def acknowledge(deviation: Deviation, actor: Actor) -> Deviation:
    """The supervisor has seen it and owns it now (open → acknowledged)."""
    _require(deviation, (OPEN,), "Deviation #{n} is already {status}; only an open deviation can be acknowledged.")
    before = _state(deviation)
    deviation.status, deviation.acknowledged_by_id, deviation.acknowledged_at = ACKNOWLEDGED, actor.user_id, utcnow()
    _changed(deviation, "deviation.acknowledged", before, actor)
    db.session.commit()
    return deviation


def deciders() -> list[User]:
    """Active people who may decide on a deviation (supervisors and inspectors), by printed name."""
    people = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.printed_name))
    return [user for user in people if user.has_role(*DECIDER_ROLES)]


def decider(user_id: int | None, default: User) -> User:
    """The person named as having decided (the acting user when none is named); 422 for anyone else."""
    user = default if user_id is None else db.session.get(User, user_id)
    if user is None or not user.active or not user.has_role(*DECIDER_ROLES):
        raise DomainError("Choose who decided.", {"decided_by": [
            "The person who decided must be an active supervisor or inspector; choose one from the list."]})
    return user


def decide(deviation: Deviation, options_considered: str, constraints: str | None, decision: str,
           decided_by: User, notes: str | None, actor: Actor) -> Deviation:
    """Record the options considered, the constraints, the decision and who decided (while acknowledged)."""
    if deviation.status == OPEN:
        raise DeviationConflict(f"Acknowledge deviation #{deviation.id} before recording the decision.")
    _require(deviation, (ACKNOWLEDGED,), "Deviation #{n} is {status}; its decision can no longer change.")
    errors = {}
    if decision not in DECISIONS:
        errors["decision"] = [f"Choose one of: {', '.join(DECISION_WORDS[d] for d in DECISIONS)}."]
    if _clean(options_considered) is None:
        errors["options_considered"] = ["List the options considered, e.g. “re-set relief valve; swap press”."]
    if errors:
        raise DomainError("The decision needs attention.", errors)
    decider(decided_by.id, decided_by)
    before = _state(deviation)
    deviation.options_considered, deviation.constraints = _clean(options_considered), _clean(constraints)
    deviation.decision, deviation.decision_notes = decision, _clean(notes)
    deviation.decided_by_id, deviation.decided_at = decided_by.id, utcnow()
    _changed(deviation, "deviation.decided", before, actor)
    db.session.commit()
    return deviation


def resolve(deviation: Deviation, resolution: str, actor: Actor) -> Deviation:
    """Say how it was resolved (acknowledged and decided → resolved)."""
    if deviation.status == OPEN:
        raise DeviationConflict(f"Acknowledge deviation #{deviation.id} and record the decision before resolving it.")
    _require(deviation, (ACKNOWLEDGED,), "Deviation #{n} is already {status}.")
    if deviation.decision is None:
        raise DeviationConflict(f"Record the decision on deviation #{deviation.id} before resolving it.")
    text = _clean(resolution)
    if text is None:
        raise DomainError("Say how it was resolved.", {"resolution": [
            "Describe the resolution, e.g. “valve replaced, 20 parts re-inspected, all good”."]})
    before = _state(deviation)
    deviation.status, deviation.resolution = RESOLVED, text
    deviation.resolved_by_id, deviation.resolved_at = actor.user_id, utcnow()
    _changed(deviation, "deviation.resolved", before, actor)
    db.session.commit()
    return deviation


def close(deviation: Deviation, actor: Actor) -> Deviation:
    """Close a resolved deviation; nothing about it changes afterwards."""
    _require(deviation, (RESOLVED,), "Deviation #{n} is {status}; only a resolved deviation can be closed.")
    before = _state(deviation)
    deviation.status, deviation.closed_by_id, deviation.closed_at = CLOSED, actor.user_id, utcnow()
    _changed(deviation, "deviation.closed", before, actor)
    db.session.commit()
    return deviation


# ---- reading -------------------------------------------------------------------------------

def open_by_station() -> dict[int, list[Deviation]]:
    """Open and acknowledged deviations keyed by station id, oldest first, in one query (the live board)."""
    found: dict[int, list[Deviation]] = {}
    for deviation in db.session.scalars(select(Deviation).where(Deviation.status.in_(ACTIVE))
                                        .order_by(Deviation.raised_at, Deviation.id)):
        found.setdefault(deviation.station_id, []).append(deviation)
    return found


def for_submission(submission_id: str) -> list[Deviation]:
    """Every deviation raised from a record, oldest first."""
    return list(db.session.scalars(select(Deviation).where(Deviation.submission_id == submission_id)
                                   .order_by(Deviation.raised_at, Deviation.id)))


def open_at(station_id: int) -> list[Deviation]:
    """The station's open and acknowledged deviations, oldest first."""
    return list(db.session.scalars(select(Deviation).where(
        Deviation.station_id == station_id, Deviation.status.in_(ACTIVE)).order_by(Deviation.raised_at, Deviation.id)))


def timeline(deviation: Deviation) -> list[AuditEvent]:
    """The deviation's audit events, oldest first: every step with who and when."""
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "deviation", AuditEvent.entity_id == str(deviation.id)).order_by(AuditEvent.seq)))


def print_rows(submission_id: str) -> list[dict[str, Any]]:
    """The record's deviations as the PDF prints them."""
    found = for_submission(submission_id)
    labels = item_labels(db.session.get(Submission, submission_id)) if found else {}
    return [print_row(deviation, labels) for deviation in found]


def digest(rows: list[dict[str, Any]]) -> str:
    """sha256 of what the PDF prints of the deviations: any change to them gives a new stored PDF."""
    return sha256_hex(canonical_json(rows))


def item_label(deviation: Deviation) -> str | None:
    """The label of the item whose answer raised the deviation (None for one raised by hand)."""
    if deviation.item_name is None:
        return None
    return item_labels(deviation.submission).get(deviation.item_name, deviation.item_name)


def cause_categories() -> list[str]:
    """The cause categories of the configured reasons file, in file order."""
    return reasons.deviation_causes()
