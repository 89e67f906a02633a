"""The board's change feed: one board_event row per change, written in the change's own transaction.

Streams wake at commit: in this process through the session's after_commit hook (app.board.notifier),
in other processes and servers through PostgreSQL NOTIFY (sent at commit, dropped on rollback), and
everywhere through a cheap poll of max(board_event.id) as the safety net.
"""
import os
import socket

from sqlalchemy import insert, text

from app.extensions import db
from app.models import BoardEvent

CHANNEL = "floorbook_board"


def origin() -> str:
    """This process, as NOTIFY payloads name it (read at each call: workers fork after import)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def touch(kind: str, station_id: int | None) -> None:
    """Record that something a board shows changed (kind e.g. 'answer', 'deviation', 'downtime')."""
    db.session.execute(insert(BoardEvent.__table__).values(kind=kind, station_id=station_id))  # no unit of work
    db.session.info["board_changed"] = True
    if db.engine.dialect.name == "postgresql":
        # The payload names this process: its own listener skips it (the commit hook already woke its reader).
        db.session.execute(text("SELECT pg_notify(:channel, :origin)"), {"channel": CHANNEL, "origin": origin()})
