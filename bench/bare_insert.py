"""The load bench's baseline: a bare Flask route doing one durable insert, served by gunicorn as shipped.

`gunicorn -c gunicorn.conf.py --pythonpath bench bare_insert:app` with DATABASE_URL set; the engine is made
the app's way (app.database.configure_engine: on SQLite WAL, synchronous=FULL, busy_timeout, BEGIN IMMEDIATE).
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask, request  # noqa: E402
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert  # noqa: E402

from app.database import configure_engine  # noqa: E402

engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
configure_engine(engine)
metadata = MetaData()
hits = Table("bench_bare_insert", metadata, Column("id", Integer, primary_key=True), Column("value", String(200)))
metadata.create_all(engine)

app = Flask(__name__)


@app.post("/insert")
def insert_one():
    """One row, committed (fsync on SQLite FULL, WAL flush on PostgreSQL)."""
    with engine.begin() as connection:
        connection.execute(insert(hits).values(value=request.form.get("n", "")[:200]))
    return "ok"
