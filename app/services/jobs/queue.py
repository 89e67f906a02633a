"""The job queue in SQL: enqueue (deduplicated), claim (SKIP LOCKED on PostgreSQL), finish, retry with back-off.

Every step is a short transaction of its own except enqueue, which joins the caller's: a job queued by a
submit exists exactly when the submit commits (and on PostgreSQL its NOTIFY is delivered at that commit).
"""
import json
import socket
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from app.database import read_only
from app.extensions import db
from app.models import Job
from app.models.job import DONE, FAILED, JOB_STATES, QUEUED, RUNNING
from app.models.types import utcnow
from app.services.jobs import registry

CHANNEL = "floorbook_jobs"  # NOTIFY'd by enqueue on PostgreSQL; the worker LISTENs
BACKOFF_FIRST_S = 10  # a failed job waits 10 s, 20 s, 40 s … (at most an hour) before its next try
BACKOFF_MAX_S = 3600
# A job running this long is taken as abandoned (its worker was killed) and taken again. It must outlast any
# handler: a PDF render times out after 180 s (pdf_worker.RENDER_TIMEOUT_S).
LEASE = timedelta(minutes=15)
ERROR_KEEP = 4000  # characters of the last error kept (the end of a traceback says the most)


def worker_name() -> str:
    """host:pid, as the admins' page shows who holds a running job."""
    return f"{socket.gethostname()}:{os.getpid()}"


def backoff(attempts: int) -> timedelta:
    """How long a job that failed its attempts-th try waits before the next."""
    return timedelta(seconds=min(BACKOFF_FIRST_S * 2 ** max(attempts - 1, 0), BACKOFF_MAX_S))


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def enqueue(kind: str, payload: dict[str, Any] | None = None, run_at: datetime | None = None,
            dedupe_key: str | None = None) -> None:
    """Queue a job of a registered kind in the caller's transaction; nothing when a job with the same
    dedupe_key is already queued (one still running does not count: it may have read older data)."""
    spec = registry.kind(kind)
    now = utcnow()
    values = {"kind": kind, "payload": json.dumps(payload or {}, sort_keys=True), "dedupe_key": dedupe_key,
              "state": QUEUED, "run_at": run_at or now, "attempts": 0, "max_attempts": spec.max_attempts,
              "created_at": now}
    insert = (pg_insert if _postgres() else sqlite_insert)(Job).values(**values)
    if dedupe_key is not None:
        insert = insert.on_conflict_do_nothing(index_elements=["dedupe_key"], index_where=text("state = 'queued'"))
    db.session.execute(insert)
    if _postgres():
        db.session.execute(text("SELECT pg_notify(:channel, :kind)"), {"channel": CHANNEL, "kind": kind})


def _due(now: datetime):
    return or_(and_(Job.state == QUEUED, Job.run_at <= now),
               and_(Job.state == RUNNING, Job.locked_at < now - LEASE))


def claim(worker: str) -> Job | None:
    """Take the next due job for this worker (marked running, one more attempt), or None when none is due.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so workers on several hosts never take the same row. SQLite has one
    worker: it looks in a read-only transaction (no write lock while idle) and takes the row only if it is
    still in the state it saw.
    """
    now = utcnow()
    pick = select(Job.id, Job.state).where(_due(now)).order_by(Job.run_at, Job.id).limit(1)
    if _postgres():
        row = db.session.execute(pick.with_for_update(skip_locked=True)).first()
    else:
        read_only(db.session)
        row = db.session.execute(pick).first()
        db.session.commit()
    if row is None:
        db.session.commit()
        return None
    taken = db.session.execute(update(Job).where(Job.id == row.id, Job.state == row.state)
                               .values(state=RUNNING, locked_by=worker, locked_at=now, attempts=Job.attempts + 1))
    db.session.commit()
    return db.session.get(Job, row.id) if taken.rowcount == 1 else None


def payload(job: Job) -> dict[str, Any]:
    """The job's arguments."""
    return json.loads(job.payload)


def complete(job_id: int) -> None:
    """Mark a job done."""
    db.session.execute(update(Job).where(Job.id == job_id)
                       .values(state=DONE, finished_at=utcnow(), locked_by=None, locked_at=None))
    db.session.commit()


def fail(job_id: int, error: str) -> Job:
    """Keep the error; queue the job again after its back-off, or mark it failed after its last attempt."""
    job = db.session.get(Job, job_id)
    job.last_error, job.locked_by, job.locked_at = error[-ERROR_KEEP:], None, None
    if job.attempts >= job.max_attempts:
        job.state, job.finished_at = FAILED, utcnow()
    else:
        job.state, job.run_at = QUEUED, utcnow() + backoff(job.attempts)
    try:
        db.session.commit()
    except IntegrityError:
        # A newer job of the same kind and key was queued meanwhile; it does this work, so this one ends here.
        db.session.rollback()
        job = db.session.get(Job, job_id)
        job.state, job.finished_at = FAILED, utcnow()
        job.last_error = (error[-ERROR_KEEP:] + "\n(not retried: a newer job with the same key is queued)")
        job.locked_by = job.locked_at = None
        db.session.commit()
    return job


@dataclass(frozen=True)
class QueueView:
    """What the admins' page shows: counts per state, the jobs that failed or wait for a retry, the newest."""

    counts: dict[str, int]
    troubled: list[Job]
    recent: list[Job]


def overview(limit: int = 50) -> QueueView:
    """Counts per state, jobs with an error (failed, or queued for a retry) and the most recent jobs."""
    counts = dict.fromkeys(JOB_STATES, 0) | dict(db.session.execute(
        select(Job.state, func.count()).group_by(Job.state)).all())
    troubled = list(db.session.scalars(select(Job).where(Job.last_error.is_not(None), Job.state.in_((QUEUED, FAILED)))
                                       .order_by(Job.state, Job.run_at.desc()).limit(limit)))
    recent = list(db.session.scalars(select(Job).order_by(Job.id.desc()).limit(limit)))
    return QueueView(counts, troubled, recent)


def retry_now(job_id: int) -> Job | None:
    """Queue a failed job again at once, with a fresh count of attempts (an admin fixed the cause)."""
    job = db.session.get(Job, job_id)
    if job is None or job.state != FAILED:
        return None
    job.state, job.run_at, job.attempts, job.finished_at = QUEUED, utcnow(), 0, None
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # the same work is queued already
        return None
    return job
