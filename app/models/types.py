"""Column types shared by the models."""
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every engine (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; the server stores UTC-aware times only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


_frozen: ContextVar[datetime | None] = ContextVar("frozen_now", default=None)


def utcnow() -> datetime:
    """The server clock, which is the record's clock (frozen only by `frozen_clock`)."""
    return _frozen.get() or datetime.now(timezone.utc)


@contextmanager
def frozen_clock(at: datetime) -> Iterator[None]:
    """Run a block as if it were `at` (demo history and tests; never in a request path)."""
    token = _frozen.set(at.astimezone(timezone.utc))
    try:
        yield
    finally:
        _frozen.reset(token)
