"""How far a streamed export has got, kept in export_run so the page's poll can ask any server.

The download's own session reads in one long read-only transaction; progress goes through a connection
of its own in short write transactions (at most two a second), so neither waits for the other.
"""
import time
import uuid

from sqlalchemy import insert, select, update

from app.extensions import db
from app.models import ExportRun
from app.models.types import utcnow
from app.services.core.errors import DomainError

WRITE_EVERY_S = 0.5  # the page polls every second: two writes a second keep it current


def export_id(given: str | None) -> str:
    """The export id a download link carries (a UUID), or a new one; a malformed one is refused."""
    if not given:
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(given))
    except ValueError:
        raise DomainError("The export id is not valid: start the download from the Records page.",
                          {"export": ["Expected a UUID."]}) from None


def find(run_id: str, user_id: int) -> ExportRun | None:
    """The user's own export run with this id (None for someone else's, or one not started yet)."""
    run = db.session.get(ExportRun, run_id)
    return run if run is not None and run.user_id == user_id else None


class Progress:
    """The counter of one download: start (or restart) its row, advance per record, finish or stop."""

    def __init__(self, run_id: str, kind: str, user_id: int, total: int):
        self.run_id, self.total, self.done, self.rendered = run_id, total, 0, 0
        self._written_at = 0.0
        with db.engine.begin() as conn:
            owner = conn.scalar(select(ExportRun.user_id).where(ExportRun.id == run_id))
            if owner is not None and owner != user_id:
                raise DomainError("This export belongs to someone else: start the download from the Records page.",
                                  status=403)
            values = {"kind": kind, "user_id": user_id, "total": total, "done": 0, "rendered": 0,
                      "started_at": utcnow(), "finished_at": None}
            if owner is None:
                conn.execute(insert(ExportRun).values(id=run_id, **values))
            else:  # the same link clicked again: count afresh
                conn.execute(update(ExportRun).where(ExportRun.id == run_id).values(**values))

    def advance(self, rendered: bool = False) -> None:
        """One more record is out (rendered: its PDF was not stored and was rendered on the way)."""
        self.done += 1
        self.rendered += rendered
        if time.monotonic() - self._written_at >= WRITE_EVERY_S:
            self._write()

    def finish(self) -> None:
        """Every record is out (or the client went away: done then stays below total)."""
        self._write(finished=True)

    def _write(self, finished: bool = False) -> None:
        values = {"done": self.done, "rendered": self.rendered} | ({"finished_at": utcnow()} if finished else {})
        with db.engine.begin() as conn:
            conn.execute(update(ExportRun).where(ExportRun.id == self.run_id).values(**values))
        self._written_at = time.monotonic()
