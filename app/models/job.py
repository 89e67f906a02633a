"""Background jobs: rows in our own database that the worker takes (DESIGN.md §12)."""
from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
JOB_STATES = (QUEUED, RUNNING, DONE, FAILED)


class Job(db.Model):
    """One unit of background work: its kind names the handler, payload its JSON arguments.

    queued → running → done; a failure goes back to queued with a later run_at (back-off) until
    max_attempts, then failed. last_error keeps the newest failure for the admins' page. At most one
    queued job per dedupe_key (a partial unique index): the same work is not queued twice, while a
    job already running does not stop a newer one from being queued behind it.
    """

    __table_args__ = (
        Index("ix_job_queued_dedupe", "dedupe_key", unique=True,
              sqlite_where=text("state = 'queued'"), postgresql_where=text("state = 'queued'")),
        Index("ix_job_state_run_at", "state", "run_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text, default="{}")
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    last_error: Mapped[str | None] = mapped_column(Text)
    locked_by: Mapped[str | None] = mapped_column(String(120))
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
