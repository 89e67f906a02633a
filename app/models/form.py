"""Published form definition versions (immutable once stored)."""
import json
from datetime import datetime
from functools import cached_property

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class FormVersion(db.Model):
    """One published version of a forms/*.yaml definition, as canonical JSON with its sha256."""

    __table_args__ = (UniqueConstraint("form_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    definition_json: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    source_file: Mapped[str] = mapped_column(String(255))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @cached_property
    def definition(self) -> dict:
        """The normalised definition."""
        return json.loads(self.definition_json)
