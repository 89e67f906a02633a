"""Submissions, their answers while a draft, and frozen record versions."""
import json
from datetime import date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.form import FormVersion
from app.models.plant import Station
from app.models.types import UTCDateTime, utcnow
from app.models.user import Device, User

if TYPE_CHECKING:
    from app.services.records.record_document import RecordDocument

DRAFT, SUBMITTED, SIGNED, VOID = "draft", "submitted", "signed", "void"
# submitted: awaiting some signature of sign_off on the current version; signed: all given.


class Submission(db.Model):
    """One filling of a form at a station; its id is the browser-made UUID (the idempotency key)."""

    # Composite indexes serve record search, deep pages, export walks and the review queue (bench/search.py).
    __table_args__ = (
        Index("ix_submission_submitted_at_id", "submitted_at", "id"),
        Index("ix_submission_status_submitted_at", "status", "submitted_at", "id"),
        Index("ix_submission_station_id_submitted_at", "station_id", "submitted_at", "id"),
        # Out-of-spec records newest first, counted and paged from the index alone (a partial index: ~8 % of rows).
        Index("ix_submission_out_of_spec", "submitted_at", "id", "fail_count", sqlite_where=text("fail_count > 0"),
              postgresql_where=text("fail_count > 0")),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    form_version_id: Mapped[int] = mapped_column(ForeignKey("form_version.id"), index=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"))
    shift_date: Mapped[date] = mapped_column(Date)
    shift_code: Mapped[str] = mapped_column(String(8))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))
    started_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=DRAFT)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # Search columns, kept in step with the current record version by the records service.
    current_version: Mapped[int] = mapped_column(Integer, default=0)
    current_sha256: Mapped[str | None] = mapped_column(String(64))
    fail_count: Mapped[int] = mapped_column(Integer, default=0)
    warn_count: Mapped[int] = mapped_column(Integer, default=0)
    # The next sign_off step the current version waits for (None when fully signed or a draft).
    awaiting_role: Mapped[str | None] = mapped_column(String(20), index=True)
    awaiting_meaning: Mapped[str | None] = mapped_column(String(80))
    # Counts the changes of a draft (answers, submit): a save prepared without the write lock commits only if
    # nothing changed the draft meanwhile (app/services/floor/submissions.py, claim_revision).
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    form_version: Mapped[FormVersion] = relationship()
    station: Mapped[Station] = relationship()
    device: Mapped[Device | None] = relationship()
    started_by: Mapped[User] = relationship(foreign_keys=[started_by_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    answers: Mapped[list["Answer"]] = relationship(back_populates="submission")
    versions: Mapped[list["RecordVersion"]] = relationship(
        back_populates="submission", order_by="RecordVersion.version"
    )


class Answer(db.Model):
    """The current answer to one item of a draft; every change is also an audit event."""

    __table_args__ = (UniqueConstraint("submission_id", "item_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submission.id"))
    item_name: Mapped[str] = mapped_column(String(80))
    value_json: Mapped[str] = mapped_column(Text, default="null")
    state: Mapped[str] = mapped_column(String(16), default="unanswered")
    summary: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    device_time: Mapped[str | None] = mapped_column(String(40))

    submission: Mapped[Submission] = relationship(back_populates="answers")
    answered_by: Mapped[User] = relationship()

    @property
    def value(self) -> Any:
        """The stored JSON value."""
        return json.loads(self.value_json)


class RecordVersion(db.Model):
    """A frozen version of a submitted record: canonical JSON and its sha256. Never changes."""

    __table_args__ = (UniqueConstraint("submission_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submission.id"))
    version: Mapped[int] = mapped_column(Integer)
    canonical_json: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    reason: Mapped[str | None] = mapped_column(Text)

    submission: Mapped[Submission] = relationship(back_populates="versions")
    created_by: Mapped[User] = relationship()

    @cached_property
    def document(self) -> dict:
        """The frozen record as a dict (what the templates read)."""
        return json.loads(self.canonical_json)

    @cached_property
    def record(self) -> "RecordDocument":
        """The frozen record as a typed RecordDocument (what services read)."""
        from app.services.records.record_document import RecordDocument  # the service layer sits above the models

        return RecordDocument.from_json(self.canonical_json)


class Attachment(db.Model):
    """A photo: original bytes stored by sha256, plus an EXIF-free derivative that pages show."""

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    derivative_sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
