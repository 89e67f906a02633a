"""The load bench's set-up: a fresh database (SQLite file or a PostgreSQL database of its own), migrated,
with the demo plant, one draft per operator session, and the session cookies a signed-in tablet carries."""
import random
import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import g, session
from flask_migrate import upgrade
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from app import create_app
from app.config import ROOT, TestingConfig
from app.extensions import db

SECRET = "bench-autosave-load"


@dataclass(frozen=True)
class Session:
    """One tablet: its cookie, its CSRF token and the URLs and form fields of the answers it saves."""

    cookie: str
    csrf: str
    saves: list[tuple[str, dict[str, str], bool]]  # (path, fields, in spec)


def _fields(item: dict, value: float) -> dict[str, str]:
    if item.get("samples", 1) == 1:
        return {"value": f"{value:g}"}
    return {f"sample_{k}": f"{value:g}" for k in range(item["samples"])}


def _numbers(definition: dict) -> list[dict]:
    """The number items always shown."""
    from app.services.floor import evaluation

    return [i for _s, i in evaluation.iter_items(definition) if i["type"] == "number" and not i.get("show_if")]


def _saves(draft_id: str, definition: dict, rng: random.Random) -> list[tuple[str, dict[str, str], bool]]:
    """Saves of the draft's number items: mostly in spec (each a new value), one in ten out of spec."""
    numbers = _numbers(definition)
    saves = []
    for n in range(400):
        item = numbers[n % len(numbers)] if n % 3 else numbers[0]  # a third of the saves hit the same item
        low, high = item.get("lsl"), item.get("usl")
        nominal = item.get("nominal")
        if nominal is None:
            nominal = (low + high) / 2 if low is not None and high is not None else (low or high or 0) + 1.0
        in_spec = rng.random() >= 0.1
        span = ((high - low) / 4) if low is not None and high is not None else 1.0
        value = nominal + rng.uniform(-span, span) if in_spec else (high if high is not None else nominal) + span * 3
        saves.append((f"/floor/submissions/{draft_id}/items/{item['name']}", _fields(item, round(value, 2)), in_spec))
    return saves


def prepare(url: str, folder: Path, sessions: int) -> list[Session]:
    """Migrate url, seed the demo plant (no history), start one draft per session and sign each in."""
    from app.models import Station, User
    from app.services.floor import catalogue, submissions
    from app.services.core.audit import Actor
    from app.services.demo import seed_demo

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, INSTANCE_PATH=str(folder / "instance"),
                     SECRET_KEY=SECRET)
    rng = random.Random(9)
    result = []
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        seed_demo(ROOT / "forms", folder / "instance", days=0)
        operators = db.session.scalars(select(User).where(User.username.like("operator%"))).all()
        stations = db.session.scalars(select(Station).order_by(Station.id)).all()
        places = [(station, version) for station in stations for version in catalogue.forms_for_station(station)
                  if _numbers(version.definition)]
        for n in range(sessions):
            station, version = places[n % len(places)]
            user = operators[n % len(operators)]
            draft = submissions.start_submission(str(uuid.uuid4()), version.id, station.id, Actor(user.id))
            cookie, token = _signed_in(app, user)
            result.append(Session(cookie, token, _saves(draft.id, version.definition, rng)))
        db.session.remove()
        db.engine.dispose()  # the bench process keeps no connection to the database gunicorn serves
    return result


def _signed_in(app, user) -> tuple[str, str]:
    """The session cookie of user signed in (as the tests do it: the session Flask-Login reads) and its CSRF token."""
    with app.test_request_context():
        session["_user_id"], session["_fresh"], session["tablet"] = user.get_id(), True, False
        g.pop("csrf_token", None)  # Flask-WTF caches the token in g, which this app context shares between users
        token = generate_csrf()
        cookie = app.session_interface.get_signing_serializer(app).dumps(dict(session))
    return f"{app.config['SESSION_COOKIE_NAME']}={cookie}", token
