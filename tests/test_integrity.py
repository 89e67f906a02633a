"""Append-only audit trail and record versions; the hash chain and its verifier."""
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from app.database import append_only_ddl
from app.models import AuditEvent, RecordVersion, Signature
from app.services.core.audit import Actor, record, verify_chain
from tests.test_floor import fill_passing


@pytest.fixture
def record_version(login, users, start_draft, db):
    """A submitted press check (RecordVersion 1)."""
    operator = login(users.operator, tablet=True)
    draft = start_draft(users.operator)
    fill_passing(operator, draft)
    operator.post_form(f"/floor/submissions/{draft.id}/submit", htmx=True)
    return db.session.scalar(select(RecordVersion))


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET reason = 'edited' WHERE seq = 1",
    "DELETE FROM audit_event WHERE seq = 1",
    "UPDATE record_version SET canonical_json = '{}'",
    "DELETE FROM record_version",
])
def test_database_refuses_update_and_delete(record_version, db, statement):
    """Raw SQL cannot change or remove audit rows or record versions (triggers, both engines)."""
    db.session.commit()
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text(statement))
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(RecordVersion)) == 1
    assert db.session.scalar(select(AuditEvent.reason).where(AuditEvent.seq == 1)) is None


def test_bulk_removal_is_refused(record_version, db, dialect):
    """Emptying the audit table fails: TRUNCATE on PostgreSQL, an unqualified DELETE on SQLite."""
    statement = "TRUNCATE audit_event CASCADE" if dialect == "postgresql" else "DELETE FROM audit_event"
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) > 0


def test_chain_links_every_event(app, users, db):
    """Each event's prev_hash is the previous event's hash, and seq has no gaps."""
    for n in range(3):
        record(Actor(users.admin.id), "test.event", "thing", n, after={"n": n})
    db.session.commit()
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:]))
    assert verify_chain().ok and verify_chain().count == len(events)


def test_verify_names_the_first_broken_seq(app, users, db, dialect):
    """Tampering (possible only by dropping the triggers) is found at its seq by `audit verify`."""
    for n in range(5):
        record(Actor(users.admin.id), "test.event", "thing", n, after={"n": n})
    db.session.commit()
    target = db.session.scalar(select(AuditEvent.seq).where(AuditEvent.action == "test.event").order_by(AuditEvent.seq).offset(2))
    for statement in append_only_ddl(dialect, "audit_event")[1]:
        db.session.execute(text(statement))
    db.session.execute(text("UPDATE audit_event SET after_json = :v WHERE seq = :s"), {"v": '{"n":99}', "s": target})
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at seq {target}" in result.output


def test_audit_verify_passes_on_the_demo(app, db):
    """The demo plant's week of history forms an unbroken chain."""
    runner = app.test_cli_runner()
    seeded = runner.invoke(args=["demo", "--days", "1"])
    assert seeded.exit_code == 0, seeded.output
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "audit chain OK" in result.output
    assert db.session.scalar(select(func.count()).select_from(RecordVersion)) > 5
    assert db.session.scalar(select(func.count()).select_from(Signature)) > 0
    times = db.session.scalars(select(AuditEvent.at).order_by(AuditEvent.seq)).all()
    assert times == sorted(times), "the demo's audit clock must only move forward"
