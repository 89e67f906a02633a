"""Engine set-up: SQLite pragmas and serialised writes (DESIGN.md §11)."""
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session

READ_ONLY = "floorbook_read_only"

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=15000",
)


def configure_engine(engine: Engine) -> None:
    """On SQLite, set the pragmas on every connection and begin every transaction IMMEDIATE."""
    if engine.dialect.name != "sqlite":
        return

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
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def read_only(session: Session | scoped_session) -> None:
    """Begin the session's next transaction as read-only: on SQLite a plain BEGIN, not IMMEDIATE.

    Call it before the first query of a transaction that never writes (board streams, feed polls).
    """
    target = session() if isinstance(session, scoped_session) else session
    if not target.in_transaction():
        target.connection(execution_options={READ_ONLY: True})


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
