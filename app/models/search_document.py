"""The one text index: the words each searchable thing is found by, keyed by (kind, ref).

Kinds today: "record" (ref: the submission id; the current version's words) and "deviation" (ref: its number).
The engine's own full-text index sits beside this table and is made by the migration, not the model: on SQLite
the FTS5 table search_document_fts (external content, kept by triggers), on PostgreSQL the generated tsvector
column search_document.tsv with a GIN index. app/services/core/text_index.py is the only code that reads them.
"""
from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow

# What the migration creates outside the models; migrations/env.py leaves them out of autogenerate's comparison.
ENGINE_INDEX_OBJECTS = frozenset({"search_document_fts", "tsv", "ix_search_document_tsv"})


class SearchDocument(db.Model):
    """The normalised words (lowercase, accents folded, one space between) that kind/ref is found by."""

    __tablename__ = "search_document"
    __table_args__ = (UniqueConstraint("kind", "ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(64))
    words: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
