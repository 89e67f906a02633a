"""Drafts: starting a submission and saving each answer the moment it is entered."""
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.canonical import canonical_json
from app.database import end_transaction, in_read_only, writing
from app.services.core.errors import DomainError
from app.extensions import db
from app.items import item_type
from app.models import Answer, FormVersion, Site, Station, Submission
from app.models.submission import DRAFT
from app.models.types import utcnow
from app.services.board import board_feed
from app.services.core import audit
from app.services.floor import catalogue, evaluation
from app.services.quality import deviations
from app.services.core.audit import Actor
from app.services.floor.device_time import moment as device_time_moment
from app.services.floor.shifts import shift_at


class NotEditable(DomainError):
    """The record is no longer a draft: answers are frozen."""

    status = 409


@dataclass
class SaveResult:
    """An answer save: the answer, its verdict, and the other items whose visibility may change."""

    answer: Answer | None
    verdict: evaluation.Verdict
    changed: bool
    dependents: list[str]


def normalise_id(raw: str) -> str:
    """A canonical lowercase UUID, or a DomainError."""
    try:
        return str(uuid.UUID(raw))
    except (ValueError, TypeError, AttributeError) as error:
        raise DomainError("The submission id must be a UUID.", {"id": ["Expected a UUID made by the tablet."]}) from error


def start_submission(raw_id: str, form_version_id: int, station_id: int, actor: Actor,
                     device_time: datetime | None = None) -> Submission:
    """Create the draft with the browser's UUID; the same start posted again returns the same draft."""
    sub_id = normalise_id(raw_id)
    existing = db.session.get(Submission, sub_id)
    if existing is not None:
        if (existing.form_version_id, existing.station_id) != (form_version_id, station_id):
            raise DomainError("This submission id is already used for another form or station.",
                              {"id": ["Reload the station page and start again."]}, status=409)
        return existing
    version = db.session.get(FormVersion, form_version_id)
    station = db.session.get(Station, station_id)
    if version is None or station is None or not catalogue.applies_to(version, station):
        raise DomainError("That form does not apply at that station.", {"form_version_id": ["Choose a form listed for the station."]})
    site = db.session.scalar(select(Site))
    now = device_time_moment(device_time, utcnow())
    shift = shift_at(site.shift_pattern, site.timezone, now)
    submission = Submission(id=sub_id, form_version_id=version.id, station_id=station.id,
                            shift_date=shift.date, shift_code=shift.code, device_id=actor.device_id,
                            started_by_id=actor.user_id, started_at=now, status=DRAFT)
    db.session.add(submission)
    db.session.flush()
    audit.record(actor, "submission.started", "submission", sub_id,
                 after={"form": f"{version.form_id} v{version.version}", "station": station.name,
                        "started_at": now.isoformat(), "device_time": device_time.isoformat() if device_time else None})
    board_feed.touch("started", station.id)
    db.session.commit()
    return submission


def answers_by_item(submission: Submission) -> dict[str, Answer]:
    """The submission's answers keyed by item name."""
    return {a.item_name: a for a in submission.answers}


def answer_values(submission: Submission) -> dict[str, Any]:
    """Answer values keyed by item name, leaving out items that show_if hides (their answers are stale)."""
    values = {name: a.value for name, a in answers_by_item(submission).items()}
    shown = evaluation.visible_names(submission.form_version.definition, values)
    return {name: value for name, value in values.items() if name in shown}


def find_item(submission: Submission, item_name: str) -> dict:
    """The definition's item called item_name, or a 404 DomainError."""
    for _section, item in evaluation.iter_items(submission.form_version.definition):
        if item["name"] == item_name:
            return item
    raise DomainError(f"This form has no item called {item_name!r}.", status=404)


def require_draft(submission: Submission) -> None:
    """Refuse any change to a record that is no longer a draft."""
    if submission.status != DRAFT:
        raise NotEditable("This record has been submitted; its answers can no longer change.")


def parse_posted(item: dict, form: Mapping[str, list[str]], key: str) -> Any:
    """The answer item's posted fields give, read with the site's decimal separator (FLOORBOOK_DECIMAL_COMMA);
    otherwise a 422 DomainError naming each refused field (or, under key, what to enter instead)."""
    try:
        return evaluation.parse_answer(item, form, current_app.config["DECIMAL_COMMA"])
    except evaluation.AnswerError as error:
        reasons = {name: [reason] for name, reason in error.fields.items()} or {key: [error.message]}
        raise DomainError(error.message, reasons) from error


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text[:2000] or None


def _store(submission: Submission, item_name: str, actor: Actor, answer: Answer | None, new: dict,
           verdict: evaluation.Verdict, device_time: str | None, action_name: str) -> Answer:
    old = None if answer is None else {"value": answer.value, "reason": answer.reason, "action": answer.action}
    if answer is None:
        answer = Answer(submission_id=submission.id, item_name=item_name)
        submission.answers.append(answer)
    answer.value_json, answer.state, answer.summary = canonical_json(new["value"]), verdict.state, verdict.summary
    answer.reason, answer.action = new["reason"], new["action"]
    answer.answered_by_id, answer.answered_at, answer.device_time = actor.user_id, utcnow(), device_time
    db.session.flush()
    audit.record(actor, action_name, "submission", submission.id, before=old and {"item": item_name, **old},
                 after={"item": item_name, **new, "state": verdict.state})
    board_feed.touch("answer", submission.station_id)  # the station's last activity on the board
    return answer


def _lock(submission: Submission) -> None:
    """Hold the draft for this transaction and read it, with its answers, as committed now.

    On SQLite the write transaction (BEGIN IMMEDIATE) holds the database already; on PostgreSQL a row lock
    (FOR UPDATE OF the draft alone) makes a concurrent save wait for this one's commit. What this session
    loaded before (a save prepared without the lock) is overwritten (populate_existing), answers included.
    """
    query = (select(Submission).where(Submission.id == submission.id).options(selectinload(Submission.answers))
             .execution_options(populate_existing=True))
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(of=Submission)
    db.session.scalars(query).one()


def claim_revision(submission: Submission) -> bool:
    """Count a change of the draft in the current write transaction, if nobody changed it since it was read.

    False when a concurrent change came first: what was read is stale and the change must be made again.
    """
    seen = submission.revision
    table = Submission.__table__
    done = db.session.execute(update(table).where(table.c.id == submission.id, table.c.revision == seen)
                              .values(revision=seen + 1)).rowcount
    if done:
        set_committed_value(submission, "revision", seen + 1)
    return done == 1


def _check_editable(submission: Submission, item_name: str) -> dict:
    require_draft(submission)
    item = find_item(submission, item_name)
    if not item_type(item).answerable:
        raise DomainError("An instruction takes no answer.", status=400)
    if not evaluation.is_visible(item, answer_values(submission)):
        raise DomainError("This item does not apply with the answers given so far.", status=409)
    return item


def _editable_item(submission: Submission, item_name: str) -> dict:
    _lock(submission)
    return _check_editable(submission, item_name)


def save_answer(submission: Submission, item_name: str, form: Mapping[str, list[str]], actor: Actor,
                value: Any = None, parsed: bool = False, device_time: datetime | None = None) -> SaveResult:
    """Parse, evaluate and store one answer; the same answer posted again changes nothing. device_time is
    the tablet's time of an answer it kept offline (checked, see security.kept_offline_time), within bounds.

    Begun in a read-only transaction (the save view's), everything up to the writes runs without the write
    lock; the writes then go in a short transaction of their own, and count only if the draft's revision is
    still the one read. A concurrent change in between makes it read and judge again under the lock.
    """
    prepared = in_read_only(db.session)
    item = _check_editable(submission, item_name) if prepared else _editable_item(submission, item_name)
    if not parsed:
        value = parse_posted(item, form, item_name)
    verdict = evaluation.evaluate(item, value, answer_values(submission))
    answer = answers_by_item(submission).get(item_name)
    deps = evaluation.dependents(submission.form_version.definition, item_name, transitive=True)
    if answer is not None and answer.value == value:
        return SaveResult(answer, verdict, False, deps)
    writing(db.session)
    if not claim_revision(submission):
        if not prepared:
            raise DomainError("The record changed while it was being saved; try again.", status=409)
        # Stale: read and judge again, this time holding the lock (_editable_item reads it all again).
        return save_answer(submission, item_name, form, actor, value, True, device_time)
    new = {"value": value, "reason": answer.reason if answer else None, "action": answer.action if answer else None}
    was_failing = answer is not None and answer.state == "fail"
    stamp = device_time_moment(device_time, utcnow()).isoformat() if device_time else None
    new |= {"device_time": stamp} if stamp else {}  # audited with the answer it dates
    answer = _store(submission, item_name, actor, answer, new, verdict, stamp, "answer.saved")
    # A failing answer raises its deviation at once; a passing one closes the deviation its failure raised.
    deviations.on_answer(submission, item_name, verdict, actor, was_failing=was_failing)
    end_transaction(db.session)  # the response renders from what is loaded: nothing is read again
    return SaveResult(answer, verdict, True, deps)


def explain(submission: Submission, item_name: str, reason: str | None, action: str | None, actor: Actor,
            category: str | None = None) -> SaveResult:
    """Record why an answer failed and what was done (the on_fail prompt), also as its deviation's cause."""
    item = _editable_item(submission, item_name)
    answer = answers_by_item(submission).get(item_name)
    if answer is None:
        raise DomainError("Answer the item before explaining it.", status=409)
    verdict = evaluation.evaluate(item, answer.value, answer_values(submission))
    new = {"value": answer.value, "reason": _clean(reason), "action": _clean(action)}
    deviation = deviations.item_deviation(submission.id, item_name)
    changed = deviation is not None and deviations.set_cause(deviation, category, new["reason"], new["action"], actor)
    if (answer.reason, answer.action) != (new["reason"], new["action"]):
        claim_revision(submission)  # under the lock: a save prepared meanwhile reads this again
        answer = _store(submission, item_name, actor, answer, new, verdict, answer.device_time, "answer.explained")
        changed = True
    end_transaction(db.session)
    return SaveResult(answer, verdict, changed, [])


def drafts_at(station: Station) -> list[Submission]:
    """Drafts in progress at station, newest first."""
    return list(db.session.scalars(select(Submission).where(
        Submission.station_id == station.id, Submission.status == DRAFT).order_by(Submission.started_at.desc())))


def add_photo(submission: Submission, item_name: str, sha256: str, actor: Actor,
              device_time: datetime | None = None) -> SaveResult:
    """Attach a stored photo to a photo item (the newest replaces the oldest beyond max_photos)."""
    item = _editable_item(submission, item_name)
    if not item_type(item).takes_photos:
        raise DomainError("This item does not take photos.", status=400)
    answer = answers_by_item(submission).get(item_name)
    photos = [p for p in (answer.value if answer and answer.value else []) if p != sha256] + [sha256]
    return save_answer(submission, item_name, {}, actor, value=photos[-item.get("max_photos", 1):], parsed=True,
                       device_time=device_time)
