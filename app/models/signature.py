"""Electronic signatures (immutable) and rendered record PDFs (stored once by content hash)."""
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.submission import RecordVersion
from app.models.types import UTCDateTime, utcnow
from app.models.user import User


class Signature(db.Model):
    """A signature bound to one record version and its sha256; the database refuses UPDATE and DELETE.

    Superseded is derived, never stored: a signature on version n is superseded once version n+1 exists.
    """

    __table_args__ = (UniqueConstraint("record_version_id", "meaning"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    record_version_id: Mapped[int] = mapped_column(ForeignKey("record_version.id"), index=True)
    content_sha256: Mapped[str] = mapped_column(String(64))
    signer_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    printed_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    meaning: Mapped[str] = mapped_column(String(80))
    statement: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    auth_method: Mapped[str] = mapped_column(String(40))
    comment: Mapped[str | None] = mapped_column(Text)

    record_version: Mapped[RecordVersion] = relationship(backref="signatures")
    signer: Mapped[User] = relationship()


class RenderedPdf(db.Model):
    """A PDF rendered for one state of a record version (its signatures, superseded or not), stored by sha256."""

    __table_args__ = (UniqueConstraint("record_version_id", "state_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    record_version_id: Mapped[int] = mapped_column(ForeignKey("record_version.id"), index=True)
    state_key: Mapped[str] = mapped_column(String(64))
    pdf_sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    record_version: Mapped[RecordVersion] = relationship()
