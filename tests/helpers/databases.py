"""Per-test databases from a migrated template, on SQLite or the PostgreSQL of FLOORBOOK_TEST_DATABASE_URL.

Under pytest-xdist every worker has its own template and databases: on SQLite under the worker's own
tmp_path_factory directory, on PostgreSQL named <base>_<worker>_<pid>_…, so neither the workers of one run
nor two runs at once (each pid is its own) share a database. Each worker drops what it made when it ends,
and sweeps databases that a killed run of the same base name left behind (their pid no longer runs).
"""
import itertools
import os
import re
import shutil
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.config import ROOT, TestingConfig
from app.extensions import db as _db
from app.idempotency.responses import flush_all

PG_URL = os.environ.get("FLOORBOOK_TEST_DATABASE_URL")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")  # gw0, gw1, … under xdist; "main" in a serial run
_counter = itertools.count()


def _migrate(url: str, instance: Path) -> None:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, INSTANCE_PATH=str(instance))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        _db.engine.dispose()


def _seed(url: str, instance: Path) -> None:
    """The `plant` fixture's rows (tests/helpers/builders.py seed_plant), once, in a copy of the template."""
    from tests.helpers.builders import seed_plant

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, INSTANCE_PATH=str(instance))
    with app.app_context():
        seed_plant(app)
        _db.session.remove()
        _db.engine.dispose()


class SqliteDatabases:
    """Template file migrated once (and a copy of it with the plant seeded); each test copies one of them."""

    def __init__(self, root: Path):
        self.root = root
        self.template = root / "template.sqlite3"
        self.planted: Path | None = None
        _migrate(f"sqlite:///{self.template}", root / "instance-template")

    def new(self, plant: bool = False) -> str:
        if plant and self.planted is None:
            planted = self.root / "template-plant.sqlite3"
            shutil.copyfile(self.template, planted)
            _seed(f"sqlite:///{planted}", self.root / "instance-template")
            self.planted = planted
        path = self.root / f"test-{next(_counter)}.sqlite3"
        shutil.copyfile(self.planted if plant else self.template, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        Path(make_url(url).database).unlink(missing_ok=True)

    def close(self) -> None:
        pass


class PostgresDatabases:
    """Template database migrated once per worker; each test gets CREATE DATABASE … TEMPLATE."""

    def __init__(self, base_url: str, instance: Path):
        self.base = make_url(base_url)
        self.admin = create_engine(self.base, isolation_level="AUTOCOMMIT")
        self.prefix = f"{self.base.database}_{WORKER}_{os.getpid()}"
        self.template = f"{self.prefix}_tmpl"
        self.planted: str | None = None  # the template with the plant seeded, made when a test first needs it
        self.instance = instance
        self._sweep()
        self._execute(f'CREATE DATABASE "{self.template}"')
        _migrate(self.base.set(database=self.template).render_as_string(hide_password=False), instance)

    def _execute(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(sql))

    def _sweep(self) -> None:
        """Drop <base>_<worker>_<pid>_… databases whose pid is gone (a run killed before its teardown)."""
        leftover = re.compile(rf"{re.escape(self.base.database)}_(?:gw\d+|main)_(\d+)_(?:tmpl|plant|\d+)")
        with self.admin.connect() as conn:
            names = conn.execute(text("SELECT datname FROM pg_database")).scalars().all()
        for name in names:
            match = leftover.fullmatch(name)
            if match and not _running(int(match.group(1))):
                self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def new(self, plant: bool = False) -> str:
        if plant and self.planted is None:
            planted = f"{self.prefix}_plant"
            self._execute(f'CREATE DATABASE "{planted}" TEMPLATE "{self.template}" STRATEGY FILE_COPY')
            _seed(self.base.set(database=planted).render_as_string(hide_password=False), self.instance)
            self.planted = planted
        name = f"{self.prefix}_{next(_counter)}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.planted if plant else self.template}" STRATEGY FILE_COPY')
        return self.base.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    def close(self) -> None:
        for template in filter(None, (self.planted, self.template)):
            self._execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        self.admin.dispose()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    """The session's database factory."""
    if PG_URL:
        factory = PostgresDatabases(PG_URL, tmp_path_factory.mktemp("instance-template"))
    else:
        factory = SqliteDatabases(tmp_path_factory.mktemp("db"))
    yield factory
    factory.close()


@pytest.fixture
def database_url(databases, request):
    """A fresh, migrated database for one test; with the plant already seeded when the test uses `plant`."""
    url = databases.new(plant="plant" in request.fixturenames)
    yield url
    databases.drop(url)


@pytest.fixture
def app(database_url, tmp_path):
    """The app bound to this test's database, with an app context pushed."""
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, INSTANCE_PATH=str(tmp_path / "instance"))
    app.jinja_env.undefined = __import__("jinja2").StrictUndefined
    with app.app_context():
        yield app
        flush_all()  # responses written behind the test's requests land before its database goes
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def db(app):
    """The Flask-SQLAlchemy handle."""
    return _db


@pytest.fixture
def dialect(db) -> str:
    """'sqlite' or 'postgresql'."""
    return db.engine.dialect.name
