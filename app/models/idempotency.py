"""Idempotency keys: one row per state-changing tablet request, kept for ever (keys never expire)."""
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class IdempotencyKey(db.Model):
    """The first request made with a key and the response it got; a repeat gets that response back.

    The row is written in the same transaction as the change the request made, so a change and its key
    commit together or not at all. `status` is empty when the process died between that commit and the
    moment the response was stored: the change is in, its response was never sent.
    """

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(400))
    status: Mapped[int | None] = mapped_column(Integer)
    headers_json: Mapped[str | None] = mapped_column(Text)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
