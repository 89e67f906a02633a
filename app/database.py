"""Engine set-up: SQLite pragmas and serialised writes (DESIGN.md §11), and the transaction kinds a request uses:
read-only (no lock), a write (SQLite: BEGIN IMMEDIATE behind one lock per process) and a lazily durable write."""
import fcntl
import os
import threading
import time

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session

READ_ONLY = "floorbook_read_only"
LAZY = "floorbook_lazily_durable"
_HOLDS_LOCK = "floorbook_holds_write_lock"
_SYNCHRONOUS = "floorbook_synchronous"
LOCK_WAIT_SECONDS = 15.0  # as busy_timeout: after that the write goes on to SQLite's own wait

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=15000",
)


class WriteQueue:
    """Where the writers of one SQLite file wait their turn: threads of a process on a lock, in order, and
    the processes (gunicorn workers, the job worker, the CLI) on an flock of a file beside the database.

    Instead of SQLite's busy handler, which polls with sleeps of up to 100 ms (a waiter wakes late, and a
    long queue ends in "database is locked"). Only one thread per process ever waits on the file, so its
    short polls (0.2–2 ms) cost nothing. A plain Lock, not an RLock: a pool reset may release it from
    another thread. The file descriptor is opened per process (gunicorn forks after import).
    """

    def __init__(self, database: str | None):
        self.path = f"{database}.write-lock" if database and database != ":memory:" else None
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int:
        if self._pid != os.getpid():
            self._fd, self._pid = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
        return self._fd

    def acquire(self, timeout: float) -> bool:
        """Wait up to timeout seconds for the turn; False when it did not come (SQLite's own wait goes on)."""
        deadline = time.monotonic() + timeout
        if not self._threads.acquire(timeout=timeout):
            return False
        if self.path is None:
            return True
        pause = 0.0002
        while True:
            try:
                fcntl.flock(self._file(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self._threads.release()
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 0.002)
            except BaseException:
                self._threads.release()
                raise

    def release(self) -> None:
        """End the turn: the next thread, or the next process, goes on."""
        if self.path is not None:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        self._threads.release()


def engine_options(url: str, options: dict) -> dict:
    """The engine options for url: a SQLite file has nothing to ping, so only a server is pinged at check-out
    (a SELECT 1 per transaction otherwise)."""
    return {**options, "pool_pre_ping": options.get("pool_pre_ping", True) and not url.startswith("sqlite")}


def configure_engine(engine: Engine) -> None:
    """On SQLite, set the pragmas on every connection and begin every write transaction IMMEDIATE, one at a time."""
    if engine.dialect.name != "sqlite":
        return
    write_lock = WriteQueue(engine.url.database)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Take over transaction control from pysqlite so BEGIN IMMEDIATE can be emitted.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # Writers queue on the database lock instead of failing later on lock upgrade;
        # a transaction begun by read_only() only reads, so it takes no lock (WAL readers never block).
        options = connection.get_execution_options()
        if options.get(READ_ONLY, False):
            connection.exec_driver_sql("BEGIN")
            return
        info = connection.connection.info
        synchronous = "NORMAL" if options.get(LAZY, False) else "FULL"
        if info.get(_SYNCHRONOUS, "FULL") != synchronous:  # a connection setting, changed outside a transaction
            connection.exec_driver_sql(f"PRAGMA synchronous={synchronous}")
            info[_SYNCHRONOUS] = synchronous
        info[_HOLDS_LOCK] = write_lock.acquire(timeout=LOCK_WAIT_SECONDS)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except Exception:
            _release(info)
            raise

    def _release(info: dict) -> None:
        if info.pop(_HOLDS_LOCK, False):
            write_lock.release()

    @event.listens_for(engine, "commit")
    def _on_commit(connection) -> None:
        # The event comes before the driver's commit; commit here so the next writer starts after it,
        # not while this one still writes (the driver's own commit is then a no-op).
        try:
            connection.connection.dbapi_connection.commit()
        finally:
            _release(connection.connection.info)

    @event.listens_for(engine, "rollback")
    def _on_rollback(connection) -> None:
        try:
            connection.connection.dbapi_connection.rollback()
        finally:
            _release(connection.connection.info)

    @event.listens_for(engine, "reset")
    def _on_reset(_dbapi_connection, record, _state) -> None:
        # A connection returned to the pool mid-transaction is rolled back by the pool, without the event above.
        _release(record.info)


def read_only(session: Session | scoped_session) -> None:
    """Begin the session's next transaction as read-only: on SQLite a plain BEGIN, not IMMEDIATE.

    Call it before the first query of a transaction that never writes (board streams, feed polls).
    """
    target = session() if isinstance(session, scoped_session) else session
    if not target.in_transaction():
        target.connection(execution_options={READ_ONLY: True})


def in_read_only(session: Session | scoped_session) -> bool:
    """True while the session's transaction was begun by read_only()."""
    target = session() if isinstance(session, scoped_session) else session
    return target.in_transaction() and bool(target.connection().get_execution_options().get(READ_ONLY))


def reads_first(view):
    """Mark a view that reads in the request's read-only transaction (the user's) and calls writing() itself
    before its first write: one transaction fewer, and nothing it reads waits for the write lock."""
    view.reads_first = True
    return view


def writing(session: Session | scoped_session) -> None:
    """Leave a read-only transaction, keeping what it loaded, so the next statement begins a write one.

    A save reads and judges without the write lock, then writes in a short transaction of its own; what it
    read is checked there (a revision) before it counts. Nothing happens inside a write transaction already.
    """
    if in_read_only(session):
        end_transaction(session)


def end_transaction(session: Session | scoped_session) -> None:
    """Commit the session's transaction (if any) keeping what it loaded: nothing is read again after it.

    A save renders from the objects it just wrote; reloading them would cost statements and, on SQLite,
    take the write lock again for the render.
    """
    target = session() if isinstance(session, scoped_session) else session
    if not target.in_transaction():
        return
    expire, target.expire_on_commit = target.expire_on_commit, False
    try:
        target.commit()
    finally:
        target.expire_on_commit = expire


def reading(session: Session | scoped_session) -> None:
    """End the current transaction keeping what it loaded, and begin the next one read-only (a render)."""
    end_transaction(session)
    read_only(session)


def lazily_durable(session: Session | scoped_session) -> None:
    """Begin the session's next transaction as a write whose commit does not wait for the disk.

    For what may be lost in a power cut without harm (a stored idempotent response: its change is
    durable already, and a replay of a lost response says the change was saved). SQLite runs it with
    synchronous=NORMAL (WAL: consistent, not yet flushed), PostgreSQL with synchronous_commit off.
    The current transaction, if any, is committed first (durably, as it began).
    """
    target = session() if isinstance(session, scoped_session) else session
    end_transaction(target)
    connection = target.connection(execution_options={LAZY: True})
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL synchronous_commit TO OFF"))


def append_only_ddl(dialect: str, table: str) -> tuple[list[str], list[str]]:
    """DDL (create, drop) for triggers that make the database refuse UPDATE and DELETE on table."""
    if dialect == "sqlite":
        create = [
            f'CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON "{table}" '
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END"
            for op in ("UPDATE", "DELETE")
        ]
        drop = [f"DROP TRIGGER IF EXISTS {table}_no_{op}" for op in ("update", "delete")]
        return create, drop
    create = [
        f"""CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '{table} is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege'; END $$""",
        f'CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON "{table}" '
        f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()",
        f'CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON "{table}" '
        f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()",
    ]
    drop = [f'DROP TRIGGER IF EXISTS {table}_no_truncate ON "{table}"',
            f'DROP TRIGGER IF EXISTS {table}_append_only ON "{table}"',
            f"DROP FUNCTION IF EXISTS {table}_append_only()"]
    return create, drop
