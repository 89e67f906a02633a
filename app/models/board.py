"""Board screens (kiosk TVs with a secret URL) and the board's change feed."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.plant import Area
from app.models.types import UTCDateTime, utcnow
from app.models.user import User


class BoardScreen(db.Model):
    """A named TV: the whole site or one area, reached by /board/<token> with no login; revocable.

    Only the token's sha256 is kept: the kiosk URL is shown once, when the screen is made (a database copy
    opens no board)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    area: Mapped[Area | None] = relationship()
    created_by: Mapped[User | None] = relationship()


class BoardEvent(db.Model):
    """One change the boards must show, written in the transaction of the change (the replay log)."""

    __table_args__ = (Index("ix_board_event_station_id_id", "station_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("station.id"))
