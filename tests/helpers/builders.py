"""Builders with defaults: the demo plant's layout, users per role, clients that send CSRF tokens."""
import re
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import g
from flask.testing import FlaskClient
from sqlalchemy import select

from app.models import FormVersion, Site, Station, User
from app.services.floor import submissions
from app.services.core.audit import Actor
from app.services.floor.catalogue import sync_definitions
from app.services.demo import _seed_plant
from app.services.access.devices import register_device
from app.services.access.users import create_user

PASSWORD = "correct-horse-9"
ROLE_NAMES = ("operator", "inspector", "supervisor", "auditor", "admin")
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class Client(FlaskClient):
    """A test client that adds the CSRF token the way the browser does."""

    def open(self, *args, **kwargs):
        # The test's app context is reused by each request: start every request with an empty
        # `g` (Flask-Login caches the user there, Flask-WTF the token) as a real request would.
        g.__dict__.clear()
        return super().open(*args, **kwargs)

    def csrf_token(self) -> str:
        """The token from a page's <meta name="csrf-token">."""
        html = self.get("/login").get_data(as_text=True)
        return _META.search(html).group(1)

    def post_form(self, url: str, data: dict | None = None, htmx: bool = False, **kwargs):
        """POST a form with the CSRF token (as htmx would send it when htmx=True)."""
        token = self.csrf_token()
        headers = dict(kwargs.pop("headers", {}))
        if htmx:
            headers.update({"HX-Request": "true", "X-CSRFToken": token})
        else:
            data = {"csrf_token": token, **(data or {})}
        return self.post(url, data=data or {}, headers=headers, **kwargs)


def seed_plant(app) -> None:
    """The demo plant's site, lines and stations, and the shipped forms published."""
    _seed_plant()
    report = sync_definitions(Path(app.config["FORMS_DIR"]), Actor(None))
    assert not report.problems, report.problems


@pytest.fixture
def plant(app):
    """The demo plant's site, lines and stations, and the shipped forms published.

    database_url copies them from a template seeded once per session (seed_plant) for every test that
    uses this fixture; only a database without them (the fixture requested by getfixturevalue) is seeded here.
    """
    from app.extensions import db
    if db.session.scalar(select(Site.id).limit(1)) is None:
        seed_plant(app)
    stations = {s.name: s for s in db.session.scalars(select(Station))}
    forms = {f.form_id: f for f in db.session.scalars(select(FormVersion))}
    return SimpleNamespace(stations=stations, forms=forms)


@pytest.fixture
def make_user(app):
    """Build a user: make_user("operator", badge="2001", pin="4321")."""
    counter = iter(range(1, 10_000))

    def build(*roles: str, username: str | None = None, password: str = PASSWORD,
              badge: str | None = None, pin: str | None = None, demo: bool = False) -> User:
        # demo=True: one of the demo plant's users with its published password, made as the demo makes it
        # (without the password policy, which those passwords break on purpose).
        name = username or f"{roles[0]}{next(counter)}"
        return create_user(name, name.title(), roles, password, badge, pin, Actor(None), policy=not demo)
    return build


@pytest.fixture
def users(make_user):
    """One user per role; the operator has badge 7001 and PIN 1357."""
    made = {role: make_user(role, username=f"t-{role}") for role in ROLE_NAMES if role != "operator"}
    made["operator"] = make_user("operator", username="t-operator", badge="7001", pin="1357")
    return SimpleNamespace(**made)


@pytest.fixture
def client(app) -> Client:
    """An anonymous client."""
    app.test_client_class = Client
    return app.test_client()


def sign_in(client: Client, user: User, tablet: bool = False) -> Client:
    """Put user's session in client without a login round trip."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
        session["tablet"] = tablet
    return client


@pytest.fixture
def login(app):
    """login(user) → a new client signed in as user."""
    def make(user: User, tablet: bool = False) -> Client:
        app.test_client_class = Client
        return sign_in(app.test_client(), user, tablet)
    return make


@pytest.fixture
def tablet(app, plant, users):
    """A registered tablet at Press 1: (device, cookie token)."""
    return register_device("Press 1 tablet", plant.stations["Press 1"].id, Actor(users.admin.id))


@pytest.fixture
def start_draft(plant):
    """start_draft(user, form_id, station) → a draft Submission."""
    def start(user: User, form_id: str = "press-start-of-shift", station: str = "Press 1"):
        return submissions.start_submission(str(uuid.uuid4()), plant.forms[form_id].id,
                                            plant.stations[station].id, Actor(user.id))
    return start
