"""What every benchmark needs: a migrated app on a fresh SQLite file, a fresh database of either engine, a timer."""
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from app.config import ROOT, TestingConfig  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"  # the local server (trust auth), as in tests


@contextmanager
def migrated_app() -> Iterator[tuple[Flask, Path]]:
    """An app on a new, migrated SQLite file in a temp folder, inside its app context: (app, folder)."""
    tmp = Path(tempfile.mkdtemp())
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp / 'bench.sqlite3'}",
                     INSTANCE_PATH=str(tmp / "instance"))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        yield app, tmp


@contextmanager
def database(engine: str, folder: Path) -> Iterator[str]:
    """A new, empty database URL for engine ('sqlite': a file in folder; 'postgresql': its own database,
    dropped afterwards)."""
    if engine == "sqlite":
        yield f"sqlite:///{folder / 'bench.sqlite3'}"
        return
    name = f"floorbook_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def timed(call: Callable[[], object], rounds: int, before: Callable[[], object] | None = None) -> list[float]:
    """Wall-clock seconds of each of `rounds` calls (before() runs untimed ahead of each)."""
    times = []
    for _ in range(rounds):
        if before:
            before()
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times
