"""Stored file bytes, content-addressed by sha256 (the database blob store; see app/services/core/blobs.py)."""
from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class Blob(db.Model):
    """One file's bytes under the sha256 of those bytes: written once, never changed (bytea on PostgreSQL)."""

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
