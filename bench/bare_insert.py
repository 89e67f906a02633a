"""The load bench's baseline: a bare Flask route doing one durable insert, served by gunicorn as shipped.

`gunicorn -c gunicorn.conf.py --pythonpath bench bare_insert:app` with DATABASE_URL set; the engine is made
the app's way (app.database.configure_engine: on SQLite WAL, synchronous=FULL, busy_timeout, the write queue,
BEGIN IMMEDIATE). The bench creates the table first (create_table): several workers importing this module
at once must not race to create it.
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask, request  # noqa: E402
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert  # noqa: E402

from app.database import configure_engine, engine_options  # noqa: E402

metadata = MetaData()
hits = Table("bench_bare_insert", metadata, Column("id", Integer, primary_key=True), Column("value", String(200)))


def create_table(url: str) -> None:
    """Create the route's table in the database at url (before gunicorn starts)."""
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()


def _app(url: str) -> Flask:
    engine = create_engine(url, **engine_options(url, {}))
    configure_engine(engine)
    served = Flask(__name__)

    @served.post("/insert")
    def insert_one():
        """One row, committed (fsync on SQLite FULL, WAL flush on PostgreSQL)."""
        with engine.begin() as connection:
            connection.execute(insert(hits).values(value=request.form.get("n", "")[:200]))
        return "ok"
    return served


app = _app(os.environ["DATABASE_URL"]) if "DATABASE_URL" in os.environ else None
