"""Progress of a bulk export, kept in the database so any server can answer the page's poll."""
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class ExportRun(db.Model):
    """One streamed download (ZIP of PDFs or answers CSV): how many of its records have gone out."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # made by the page that links the download
    kind: Mapped[str] = mapped_column(String(8))  # "zip" or "csv"
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    rendered: Mapped[int] = mapped_column(Integer, default=0)  # PDFs not stored yet, rendered on the way
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
