"""Deviations (never 'exceptions' in code): what went wrong, why, what was decided, by whom."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.plant import Station
from app.models.submission import Submission
from app.models.types import UTCDateTime, utcnow
from app.models.user import User

OPEN, ACKNOWLEDGED, RESOLVED, CLOSED = "open", "acknowledged", "resolved", "closed"
STATUSES = (OPEN, ACKNOWLEDGED, RESOLVED, CLOSED)
DECISIONS = ("continue", "adjust", "hold", "quarantine", "stop_line", "rework", "scrap")


class Deviation(db.Model):
    """Raised by a failing answer (source 'answer') or by hand (source 'manual'); status open → closed."""

    __table_args__ = (
        Index("ix_deviation_status_raised_at", "status", "raised_at", "id"),
        Index("ix_deviation_station_id_status", "station_id", "status"),
        Index("ix_deviation_submission_id_item_name", "submission_id", "item_name"),
        # The search's filters, each newest raised first from its index (app/services/quality/deviation_search.py).
        Index("ix_deviation_raised_at_id", "raised_at", "id"),
        Index("ix_deviation_station_id_raised_at", "station_id", "raised_at", "id"),
        Index("ix_deviation_decision_raised_at", "decision", "raised_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"))
    submission_id: Mapped[str | None] = mapped_column(ForeignKey("submission.id"))
    item_name: Mapped[str | None] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    what_happened: Mapped[str] = mapped_column(Text)
    cause_category: Mapped[str | None] = mapped_column(String(80))
    cause: Mapped[str | None] = mapped_column(Text)
    immediate_action: Mapped[str | None] = mapped_column(Text)
    options_considered: Mapped[str | None] = mapped_column(Text)
    constraints: Mapped[str | None] = mapped_column(Text)
    decision: Mapped[str | None] = mapped_column(String(20))
    decision_notes: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    station: Mapped[Station] = relationship()
    submission: Mapped[Submission | None] = relationship()
    raised_by: Mapped[User] = relationship(foreign_keys=[raised_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
