"""Downtime: a station stopped, why (a code from the reason tree), and what fixed it."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.plant import Station
from app.models.types import UTCDateTime, utcnow
from app.models.user import User


class DowntimeEvent(db.Model):
    """One stop of one station; at most one runs (ended_at IS NULL) per station, enforced by the database."""

    __table_args__ = (
        Index("ix_downtime_event_running", "station_id", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
        Index("ix_downtime_event_station_id_started_at", "station_id", "started_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"))
    reason_code: Mapped[str] = mapped_column(String(120))
    reason_label: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    fix: Mapped[str | None] = mapped_column(Text)

    station: Mapped[Station] = relationship()
    started_by: Mapped[User] = relationship(foreign_keys=[started_by_id])
    ended_by: Mapped[User | None] = relationship(foreign_keys=[ended_by_id])
