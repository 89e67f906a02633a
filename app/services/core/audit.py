"""Append audit events to the hash chain and verify the chain."""
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text

from app.canonical import canonical_json, sha256_hex
from app.extensions import db
from app.models import AuditEvent
from app.models.types import utcnow
from app.services.core import security_log

GENESIS = "0" * 64
_HEAD = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
# Audited changes that the security log also tells as they happen (SEC-LOG-1: signatures, admin changes).
_SECURITY_ACTIONS = ("user.", "device.", "board_screen.", "form.", "record.signed", "record.corrected",
                     "submission.taken_over", "auth.logout")
_PG_AUDIT_LOCK = 727_001  # any constant; serialises chain appends across PostgreSQL sessions


@dataclass(frozen=True)
class Actor:
    """Who acts, and on which registered device."""

    user_id: int | None
    device_id: int | None = None


def _payload(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor_id": event.actor_id,
        "device_id": event.device_id,
        "action": event.action,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "before": event.before_json,
        "after": event.after_json,
        "reason": event.reason,
    }


def event_hash(event: AuditEvent) -> str:
    """sha256 over the previous hash and the event's canonical JSON."""
    return sha256_hex(event.prev_hash + canonical_json(_payload(event)))


def _dump(value: Any) -> str | None:
    return None if value is None else canonical_json(value)


def record(actor: Actor, action: str, entity_type: str, entity_id: Any, *,
           before: Any = None, after: Any = None, reason: str | None = None,
           at: datetime | None = None) -> AuditEvent:
    """Append one event in the caller's transaction (committed with the change it describes).

    Core statements on the transaction's connection: the chain's head and the new event are rows of one
    table that nothing else writes, so the unit of work has nothing to flush or track for them.
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    last = connection.execute(_HEAD).first()
    event = AuditEvent(
        seq=(last.seq + 1) if last else 1,
        at=at or utcnow(),
        actor_id=actor.user_id,
        device_id=actor.device_id,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before_json=_dump(before),
        after_json=_dump(after),
        reason=reason,
        prev_hash=last.hash if last else GENESIS,
    )
    event.hash = event_hash(event)
    # A Core insert: the event is never changed after, so the unit of work has nothing to track (the
    # returned event stays outside the session). Its id and seq are what the chain needs, already known.
    connection.execute(insert(AuditEvent.__table__).values(
        {column.key: getattr(event, column.key) for column in AuditEvent.__table__.columns}))
    if action.startswith(_SECURITY_ACTIONS):
        security_log.event(action, "recorded", entity=f"{entity_type}:{entity_id}", by=actor.user_id, seq=event.seq)
    return event


@dataclass(frozen=True)
class ChainReport:
    """Result of walking the chain: how many events, and the first broken seq if any."""

    count: int
    broken_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """True when every link holds."""
        return self.broken_seq is None


def verify_chain(batch: int = 2000) -> ChainReport:
    """Walk every event in seq order and check seq continuity, prev_hash links and hashes."""
    expected_prev, expected_seq, count = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            return ChainReport(count)
        for event in rows:
            if event.seq != expected_seq:
                return ChainReport(count, expected_seq, f"seq {expected_seq} is missing")
            if event.prev_hash != expected_prev:
                return ChainReport(count, event.seq, "prev_hash does not match the previous event")
            if event_hash(event) != event.hash:
                return ChainReport(count, event.seq, "hash does not match the event's content")
            expected_prev, expected_seq, count = event.hash, event.seq + 1, count + 1
            last_seq = event.seq
        db.session.expunge_all()


def loads(value: str | None) -> Any:
    """Decode a before/after column."""
    return None if value is None else json.loads(value)
