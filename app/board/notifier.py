"""Wake board streams when the board feed moves, in this process and across processes and servers.

Three sources bump one in-process counter that streams wait on:
- the session's after_commit hook, when the committed transaction wrote a board_event (this process);
- a PostgreSQL LISTEN thread (NOTIFY is sent by board_feed.touch inside the transaction, delivered
  at commit to every listening worker on every server);
- a poll of max(board_event.id): the only cross-process path for SQLite, and PostgreSQL's safety net
  for notifications missed while its listener reconnects.
The threads run only while at least one stream is subscribed.
"""
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from app.database import read_only
from app.extensions import db
from app.models import BoardEvent
from app.services.board.board_feed import CHANNEL

log = logging.getLogger(__name__)
KEY = "floorbook_board_notifier"
RENDER_CACHE = 256  # rendered stream messages kept per process


class Notifier:
    """A version counter with a condition; streams wait for it to move past what they have seen."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.version = 0
        self._cond = threading.Condition()
        self._subscribers = 0
        self._threads: list[threading.Thread] = []
        self.closed = False
        self._rendered: OrderedDict[tuple, str] = OrderedDict()
        self._render_lock = threading.Lock()

    def wake(self) -> None:
        """Something changed: wake every waiting stream."""
        with self._cond:
            self.version += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Block until the version moves past seen or timeout passes; return the current version."""
        with self._cond:
            self._cond.wait_for(lambda: self.version != seen, timeout=timeout)
            return self.version

    def rendered(self, key: tuple, render: Callable[[], str]) -> str:
        """The text for key, rendered once per process: every stream of a screen at the same feed position
        sends the same bytes, so fifty TVs cost one render, not fifty."""
        with self._render_lock:
            if key not in self._rendered:
                self._rendered[key] = render()
                if len(self._rendered) > RENDER_CACHE:
                    self._rendered.popitem(last=False)
            return self._rendered[key]

    def subscribe(self) -> None:
        """A stream starts: make sure the watcher threads run."""
        with self._cond:
            self._subscribers += 1
            self._threads = [t for t in self._threads if t.is_alive()]
            if not self._threads:
                self._start_watchers()

    def unsubscribe(self) -> None:
        """A stream ended; watchers stop by themselves once nobody listens."""
        with self._cond:
            self._subscribers -= 1

    def active(self) -> bool:
        """True while any stream is subscribed (and the notifier is not closed)."""
        return self._subscribers > 0 and not self.closed

    def close(self) -> None:
        """Shutting down: streams end at their next wake, watcher threads stop."""
        self.closed = True
        self.wake()
        for thread in self._threads:
            thread.join(timeout=5)

    def _start_watchers(self) -> None:
        targets = [self._poll]
        if self.app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            targets.append(self._listen)
        for target in targets:
            thread = threading.Thread(target=target, name=f"board-{target.__name__}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _poll(self) -> None:
        interval = self.app.config["BOARD_POLL_SECONDS"]
        last = None
        while self.active():
            try:
                with self.app.app_context():
                    read_only(db.session)
                    newest = db.session.scalar(select(func.max(BoardEvent.id)))
                    db.session.remove()
            except Exception:  # the database may be restarting: keep polling
                log.warning("board poll failed", exc_info=True)
                newest = last
            if newest != last:  # on the first read too: a change may have landed before this thread started
                self.wake()
            last = newest
            time.sleep(interval)

    def _listen(self) -> None:
        import psycopg

        url = self.app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://", "postgresql://")
        while self.active():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while self.active():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self.wake()
            except Exception:  # reconnect; the poll covers the gap
                log.warning("board LISTEN connection lost; reconnecting", exc_info=True)
                time.sleep(1.0)


def notifier_for(app: Flask) -> Notifier:
    """This app's notifier (one per process and app)."""
    return app.extensions[KEY]


def init_notifier(app: Flask) -> None:
    """Create the app's notifier and wake it after every commit that wrote a board_event."""
    app.extensions[KEY] = Notifier(app)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop("board_changed", False) and has_app_context():
        notifier = current_app.extensions.get(KEY)
        if notifier is not None:
            notifier.wake()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("board_changed", None)
