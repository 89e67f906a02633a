"""A record's history for people: answers changed while the draft was filled, corrections after submit, the trail.

Changes while filling come from the "answer.saved" audit events (they carry the value before and after); corrections
come from the record versions (each carries its reason). The record page and the PDF print both.
"""
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Submission, User
from app.services.floor import evaluation
from app.services.records import corrections
from app.services.core.audit import loads


@dataclass(frozen=True)
class Change:
    """One changed answer: while filling (version None) or by the correction that made `version`."""

    version: int | None
    item: str
    label: str
    old: Any
    new: Any
    by: str
    username: str | None
    at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class History:
    """Every change of a record's answers, oldest first."""

    while_filling: tuple[Change, ...]
    corrections: tuple[Change, ...]

    @property
    def empty(self) -> bool:
        """True only when no answer changed while filling and nothing was corrected."""
        return not self.while_filling and not self.corrections


@dataclass(frozen=True)
class TrailRow:
    """An audit event of the record with its actor's printed name."""

    seq: int
    at: datetime
    who: str
    action: str
    before: str | None
    after: str | None
    reason: str | None


def _events(submission_id: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "submission", AuditEvent.entity_id == submission_id).order_by(AuditEvent.seq)))


def actor_names(events: Iterable[AuditEvent]) -> dict[int, User]:
    """The users who acted in events, by id, in one query."""
    ids = {e.actor_id for e in events if e.actor_id is not None}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def _entry_changes(submission: Submission, events: list[AuditEvent]) -> list[Change]:
    labels = {item["name"]: item["label"] for _s, item in evaluation.iter_items(submission.form_version.definition)}
    saved = [e for e in events if e.action == "answer.saved" and e.before_json is not None]
    people = actor_names(saved)
    found = []
    for event in saved:
        before, after = loads(event.before_json), loads(event.after_json)
        if before.get("value") == after.get("value"):
            continue
        person = people.get(event.actor_id)
        found.append(Change(None, after["item"], labels.get(after["item"], after["item"]), before.get("value"),
                            after.get("value"), person.printed_name if person else "system",
                            person.username if person else None, event.at))
    return found


def _correction_changes(submission: Submission, up_to: int | None) -> list[Change]:
    found = []
    for correction in corrections.history(submission):
        if up_to is not None and correction["version"] > up_to:
            continue
        by, at = correction["by"], datetime.fromisoformat(correction["at"])
        # A correction that changed no field (only its reason stands) is still listed.
        for change in correction.get("changes") or [{"item": "", "label": "(no field changed)", "old": None, "new": None}]:
            found.append(Change(correction["version"], change["item"], change.get("label") or change["item"],
                                change["old"], change["new"], by["printed_name"], by["username"], at,
                                correction["reason"]))
    return found


def record_history(submission: Submission, up_to_version: int | None = None) -> History:
    """Answers changed while filling and corrections up to version `up_to_version` (all of them by default)."""
    return History(tuple(_entry_changes(submission, _events(submission.id))),
                   tuple(_correction_changes(submission, up_to_version)))


def audit_trail(submission_id: str) -> list[TrailRow]:
    """The record's audit events, oldest first, with printed names."""
    events = _events(submission_id)
    people = actor_names(events)
    return [TrailRow(e.seq, e.at, people[e.actor_id].printed_name if e.actor_id in people else "system", e.action,
                     e.before_json, e.after_json, e.reason) for e in events]


def plain(value: Any) -> str:
    """A JSON value as words for the change history: 150, 46.5, "a, b", "—" for nothing."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".")
    if isinstance(value, list):
        return ", ".join(plain(v) for v in value)
    return str(value)
