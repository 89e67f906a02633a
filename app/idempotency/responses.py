"""Stored responses of idempotent requests, written behind the request: a batch every few milliseconds in
one short transaction that does not wait for the disk, instead of one transaction per request.

The key row commits with the change itself (store.claim); its response only serves a replay of the same
request. A replay that comes before the batch is written finds the response here (same process) or waits
for it (another process: store._finished polls). A response lost with its process (a crash in the few
milliseconds before its batch) replays as "already saved", which is true: the change committed.
"""
import atexit
import logging
import os
import threading
import time
import weakref

from sqlalchemy import bindparam, text, update
from sqlalchemy.engine import Connection, Engine

from app.database import LAZY
from app.models import IdempotencyKey

log = logging.getLogger(__name__)
BATCH_SECONDS = 0.01  # how long a batch gathers before it is written
TRIES = 3  # writes of one response before it is given up (a replay then says "already saved")
IDLE_SECONDS = 2.0  # a writer thread with nothing to write for this long ends (a new one starts on demand)
_TABLE = IdempotencyKey.__table__
_STORE = (update(_TABLE).where(_TABLE.c.key == bindparam("b_key"))
          .values(status=bindparam("b_status"), headers_json=bindparam("b_headers"), body=bindparam("b_body")))


class ResponseWriter:
    """The responses of one engine's process waiting to be written, and the thread that writes them."""

    def __init__(self, engine: Engine):
        self._engine = weakref.ref(engine)
        self._waiting: dict[str, dict] = {}
        self._tries: dict[str, int] = {}  # failed writes of a response still waiting
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._flushing = threading.Lock()  # one flush at a time: flush_all waits for the thread's

    def add(self, key: str, status: int, headers_json: str, body: bytes) -> None:
        """Queue a response; it is written within about BATCH_SECONDS."""
        with self._ready:
            self._waiting[key] = {"b_key": key, "b_status": status, "b_headers": headers_json, "b_body": body}
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="idempotent-responses", daemon=True)
                self._thread.start()
            self._ready.notify()

    def waiting(self, key: str) -> IdempotencyKey | None:
        """The response of key if it is still waiting to be written (a transient row), else None."""
        with self._ready:
            row = self._waiting.get(key)
        if row is None:
            return None
        return IdempotencyKey(key=key, status=row["b_status"], headers_json=row["b_headers"], body=row["b_body"])

    def _run(self) -> None:
        # The thread keeps one connection while it runs: set up once not to wait for the disk, it never
        # switches a request's connection back and forth.
        connection = None
        try:
            while True:
                with self._ready:
                    if not self._waiting and not self._ready.wait_for(lambda: self._waiting, IDLE_SECONDS):
                        self._thread = None
                        return
                time.sleep(BATCH_SECONDS)  # let the batch gather: one transaction for what came meanwhile
                connection = self.flush(connection)
        finally:
            if connection is not None:
                connection.close()

    def flush(self, connection: Connection | None = None) -> Connection | None:
        """Write what is waiting now, in one transaction that does not wait for the disk; the connection
        to use next time (None: a new one)."""
        with self._flushing:
            return self._flush(connection)

    def _flush(self, connection: Connection | None) -> Connection | None:
        with self._ready:
            batch = dict(self._waiting)
        engine = self._engine()
        if not batch or engine is None:
            return connection
        kept, failed = connection is not None, False
        try:
            connection = connection or engine.connect().execution_options(**{LAZY: True})
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(text("SET LOCAL synchronous_commit TO OFF"))
                connection.execute(_STORE, list(batch.values()))
        except Exception:  # the change stands either way; a replay of a lost response says "already saved"
            failed = True
            log.warning("could not store %d idempotent responses", len(batch), exc_info=True)
            if connection is not None:
                connection.close()
            connection = None
        if not kept and connection is not None and threading.current_thread() is not self._thread:
            connection.close()  # a flush from outside the writer's thread keeps nothing
            connection = None
        with self._ready:
            for key, row in batch.items():
                tries = self._tries.pop(key, 0) + 1
                if failed and tries < TRIES:
                    self._tries[key] = tries  # a busy database: the next batch takes it again
                elif self._waiting.get(key) is row:
                    del self._waiting[key]
        return connection


_writers: "weakref.WeakKeyDictionary[Engine, ResponseWriter]" = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def writer_for(engine: Engine) -> ResponseWriter:
    """The engine's writer in this process (one per process: gunicorn forks after import)."""
    with _writers_lock:
        found = _writers.get(engine)
        if found is None or getattr(found, "pid", None) != os.getpid():
            found = _writers[engine] = ResponseWriter(engine)
            found.pid = os.getpid()
        return found


@atexit.register
def flush_all() -> None:
    """Write every waiting response now (at exit, and for tests that read the rows)."""
    with _writers_lock:
        writers = list(_writers.values())
    for writer in writers:
        writer.flush()
