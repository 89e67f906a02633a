"""What search reads beside the records: the one text index (search_document) and the current signers.

search_document holds the words each searchable thing is found by, keyed by (kind, ref).

Kinds today: "record" (ref: the submission id; the current version's words) and "deviation" (ref: its number).
The engine's own full-text index sits beside this table and is made by the migration, not the model: on SQLite
the FTS5 table search_document_fts (external content, kept by triggers), on PostgreSQL the generated tsvector
column search_document.tsv with a GIN index. app/services/core/text_index.py is the only code that reads them.
"""
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow

# What the migration creates outside the models; migrations/env.py leaves them out of autogenerate's comparison.
ENGINE_INDEX_OBJECTS = frozenset({"search_document_fts", "tsv", "ix_search_document_tsv"})


class SearchDocument(db.Model):
    """The normalised words (lowercase, accents folded, one space between) that kind/ref is found by."""

    __tablename__ = "search_document"
    # ref first: lookups are by (kind, ref) or by rowid, and an index led by kind would tempt SQLite into scanning
    # every document of a kind instead of looking the text index's matches up by rowid.
    __table_args__ = (UniqueConstraint("ref", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(64))
    words: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RecordSigner(db.Model):
    """Who has signed a record's current version: one row per (signer, record), kept by database triggers (a
    signature adds its signer; a new version clears the record's rows), so the signer filter reads an index
    instead of joining signatures to versions to records. Made and filled by the search-index migration."""

    __tablename__ = "record_signer"
    signer_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submission.id"), primary_key=True, index=True)
