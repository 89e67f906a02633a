"""The route walker's machinery: a seeded app for a test module, hostile requests per route, role and kind.

tests/test_route_walker.py says what the walk must hold; this module makes the requests and reports what
went wrong in each (a 5xx, a logged unhandled error with its traceback's last lines, a traceback in a body, a
row count changed by a request that was refused or sent without a valid CSRF token).
"""
import hashlib
import io
import itertools
import logging
import os
import traceback
import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from itsdangerous import URLSafeTimedSerializer
from marshmallow import Schema, fields
from sqlalchemy import select, text

from app import create_app
from app.config import TestingConfig
from app.extensions import db
from app.idempotency.responses import flush_all
from app.models import Attachment, Deviation, FormVersion, Job, Line, Station, User
from app.services.access.devices import register_device
from app.services.access.users import create_user
from app.services.board import boards
from app.services.core.audit import Actor
from app.services.floor import downtime, submissions
from tests.helpers.builders import PASSWORD, Client
from tests.helpers.deviations import failing_press_record
from tests.helpers.records import fill_and_submit

ROLES = ("anonymous", "operator", "inspector", "supervisor", "auditor", "admin", "outbox")
NINES = "9" * 30
INT_HOSTILE = ("0", "-1", str(2**31), str(2**63), NINES)
STRING_HOSTILE = ("real", "x" * 5000, quote("../../etc/passwd", safe=""), "%00", "%2500", quote("Ⅻ٣ñ😀"), "real-ish")
PATH_HOSTILE = ("../../etc/passwd", "%00", "x" * 5000, quote("ñ😀"))
SCALARS = (str(2**63), NINES, "-1", "0", "NaN", "inf", "-Infinity", "1e309", "x" * 10_000, "a\x00b", "١٢٣",
           "<script>alert(1)</script>", "' OR 1=1 --", "true", "", "   ", "2026-02-30", "%s%n")
WRONG_TYPES = ([1, 2], {"a": 1}, 1e308, True, None, 2**63, "x" * 10_000, -1)
# Fields the views read without a schema (files, the answer's value, search links, the sign-in's next page).
VIEW_FIELDS = ("value", "photo", "pdf", "reason", "sha256", "export", "kind", "since", "next", "station")
FILE_FIELDS = ("photo", "pdf")
UNKNOWN = "walker_unknown_field"
ITEMS = ("hydraulic_pressure", "guard_photo", "guards_in_place", "leak_location", "before_you_start")  # by type
CATEGORIES = {"GET": ("path", "scalars", "repeated", "huge"),
              "POST": ("path", "scalars", "repeated", "json", "multipart", "no_csrf")}
# Refused sign-ins and password changes are counted by design (the lockout): they may write with a 401.
COUNTED_REFUSALS = {"auth.login_post", "auth.badge_login_post", "auth.password_change"}
STREAMS = {"board.events"}


def request_schemas() -> dict[str, dict]:
    """Every request schema of the app by name, with its declared fields (definition-file schemas take no request)."""
    found, stack = {}, list(Schema.__subclasses__())
    while stack:
        schema = stack.pop()
        stack.extend(schema.__subclasses__())
        module = schema.__module__
        if module.startswith("app.") and not module.startswith("app.definitions") and schema._declared_fields:
            found[f"{module}.{schema.__name__}"] = dict(schema._declared_fields)
    return dict(sorted(found.items()))


def schema_fields() -> list[str]:
    """Every field name a request schema declares, and those the views read without one."""
    return sorted({name for declared in request_schemas().values() for name in declared} | set(VIEW_FIELDS))


def plausible(walk: "Walk", name: str, kind: fields.Field) -> str:
    """A value that passes the field, so that one hostile field among plausible ones reaches the code past it."""
    if name in walk.real:
        return str(walk.real[name])
    if isinstance(kind, fields.Boolean):
        return "true"
    if isinstance(kind, fields.AwareDateTime):
        return "2026-12-01T06:00:00Z"
    if isinstance(kind, fields.Date):
        return "2026-12-01"
    if isinstance(kind, fields.Integer):
        return "20" if name == "per_page" else "1"
    return {"id": str(uuid.uuid4()), "value": "150", "reason_code": "hydraulic_leak", "decision": "use_as_is",
            "status": "open"}.get(name, "walker")


@dataclass
class Walk:
    """The walked app, its seeded rows, and what went wrong."""

    app: object
    users: dict
    real: dict
    fields: list[str]
    schemas: dict[str, dict] = field(default_factory=request_schemas)
    errors: list[str] = field(default_factory=list)
    counter: itertools.count = field(default_factory=itertools.count)


class _Caught(logging.Handler):
    def __init__(self, sink: list[str]):
        super().__init__(logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.sink.append("".join(traceback.format_exception(*record.exc_info)))


def _seed(app) -> tuple[dict, dict]:
    """Users per role, a tablet, a draft, a record, a deviation, a board screen, a downtime: real ids for the paths."""
    made = {role: create_user(f"w-{role}", f"W {role}", (role,), PASSWORD, "7101" if role == "operator" else None,
                              "1357" if role == "operator" else None, Actor(None))
            for role in ROLES if role not in ("anonymous", "outbox")}
    spare = create_user("w-spare", "W Spare", ("operator",), PASSWORD, None, None, Actor(None))
    admin = Actor(made["admin"].id)
    stations = {s.name: s for s in db.session.scalars(select(Station))}
    forms = {f.form_id: f for f in db.session.scalars(select(FormVersion))}
    press, form = stations["Press 1"], forms["press-start-of-shift"]
    device, _cookie = register_device("Walker tablet", press.id, admin)
    operator = Actor(made["operator"].id)
    draft = submissions.start_submission(str(uuid.uuid4()), form.id, press.id, operator)
    record = fill_and_submit(submissions.start_submission(str(uuid.uuid4()), form.id, press.id, operator),
                             made["operator"])
    failing_press_record(app, SimpleNamespace(stations=stations, forms=forms), made["operator"])
    screen = boards.create_screen("Walker TV", None, admin)
    spare_screen = boards.create_screen("Walker spare TV", None, admin)
    event = downtime.start_downtime(stations["Press 2"], "hydraulic_leak", None, operator)
    photo = db.session.scalars(select(Attachment)).first()
    job = db.session.scalars(select(Job)).first()
    real = {
        "submission_id": draft.id, "record_id": record.id, "item_name": "hydraulic_pressure",
        "token": screen.token, "sha256": photo.sha256, "export_id": str(uuid.uuid4()), "filename": "css/print.css",
        "deviation_id": db.session.scalars(select(Deviation.id)).first(), "device_id": device.id,
        "user_id": spare.id, "screen_id": spare_screen.screen.id, "event_id": event.id,
        "form_version_id": form.id, "job_id": job.id if job else 1, "number": 1,
        "station_id": press.id, "station": press.id, "home_station_id": press.id, "line": press.line_id,
        "area_id": db.session.get(Line, press.line_id).area_id, "decided_by": made["supervisor"].id,
        "form": form.form_id,
    }
    return made, real


@pytest.fixture(scope="module")
def walk(databases, tmp_path_factory):
    """One seeded database and app for the whole module, with unhandled errors caught from the log."""
    url = databases.new(plant=True)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url,
                     INSTANCE_PATH=str(tmp_path_factory.mktemp("walker") / "instance"))
    app.test_client_class = Client
    ctx = app.app_context()
    ctx.push()
    made, real = _seed(app)
    found = Walk(app, {role: user.id for role, user in made.items()}, real, schema_fields())
    db.session.remove()  # the seeding's transaction ends here: SQLite's writes begin IMMEDIATE
    handler = _Caught(found.errors)
    app.logger.addHandler(handler)
    yield found
    app.logger.removeHandler(handler)
    flush_all()
    db.session.remove()
    db.engine.dispose()
    ctx.pop()
    databases.drop(url)


def row_counts() -> dict[str, int]:
    """Every table's row count, read in one query on a connection of its own."""
    db.session.remove()  # the session's open transaction would hold SQLite's write lock
    names = sorted(db.metadata.tables)
    sql = "SELECT " + ", ".join(f'(SELECT count(*) FROM "{name}")' for name in names)
    with db.engine.connect() as conn:
        return dict(zip(names, conn.execute(text(sql)).one()))


@dataclass
class Case:
    """One request of the walk."""

    endpoint: str
    method: str
    role: str
    category: str
    url: str = ""
    kwargs: dict = field(default_factory=dict)
    csrf: bool = True


def client_for(walk: Walk, role: str) -> tuple[Client, str]:
    """A fresh client signed in as role (by writing the session) and its CSRF token.

    The session names the user's current generation, read each time: a sign-out or password change that the
    walk made ends the sessions made before it, as it should."""
    client = walk.app.test_client()
    user_id = db.session.get(User, walk.users[role]).get_id() if role in walk.users else None
    db.session.remove()
    raw = hashlib.sha1(os.urandom(32)).hexdigest()
    with client.session_transaction() as session:
        session["csrf_token"] = raw
        if role in walk.users:
            session["_user_id"], session["_fresh"], session["tablet"] = user_id, True, False
    token = URLSafeTimedSerializer(walk.app.secret_key, salt="wtf-csrf-token").dumps(raw)
    return client, token


def fill(rule, values: dict[str, str]) -> str:
    """The rule's address with each path argument written as given (already quoted)."""
    return "".join(values[part] if dynamic else part for dynamic, part in rule._trace).split("|", 1)[-1]


def real_value(walk: Walk, name: str, n: int = 0) -> str:
    """A seeded row's id for a path argument (an item of each type in turn), quoted as one segment."""
    value = ITEMS[n % len(ITEMS)] if name == "item_name" else walk.real.get(name, "1")
    return quote(str(value), safe="" if name != "filename" else "/")


def build_url(walk: Walk, endpoint: str, hostile: bool, n: int) -> str:
    """The route's address with each path argument real, or hostile by its converter (on odd n, only the last)."""
    rule = next(r for r in walk.app.url_map.iter_rules() if r.endpoint == endpoint)
    args = [part for dynamic, part in rule._trace if dynamic]
    values = {}
    for name in args:
        converter = type(rule._converters[name]).__name__
        if not hostile or (n % 2 and name != args[-1]):
            values[name] = real_value(walk, name, n)
        elif converter in ("IdConverter", "IntegerConverter"):
            values[name] = INT_HOSTILE[n % len(INT_HOSTILE)]
        elif converter == "PathConverter":
            values[name] = PATH_HOSTILE[n % len(PATH_HOSTILE)]
        else:
            value = STRING_HOSTILE[n % len(STRING_HOSTILE)]
            real = str(walk.real.get(name, "1"))
            values[name] = {"real": quote(real, safe=""), "real-ish": quote(real[:-1] + "Z", safe="")}.get(value, value)
    return fill(rule, values)


def make_case(walk: Walk, endpoint: str, method: str, role: str, category: str) -> Case:
    """The request for one category, its hostile values taken in turn so that every one is sent somewhere."""
    n = next(walk.counter)
    case = Case(endpoint, method, role, category, build_url(walk, endpoint, category == "path", n))
    names = walk.fields
    scalars = {name: SCALARS[(n + i) % len(SCALARS)] for i, name in enumerate(names)}
    if category == "scalars":
        body = scalars
    elif category == "repeated":
        body = {name: [SCALARS[(n + i) % len(SCALARS)], SCALARS[(n + i + 1) % len(SCALARS)]]
                for i, name in enumerate(names)} | {UNKNOWN: "x"}
    elif category == "huge":
        body = {name: "9" * 10_000 if i % 2 else "x" * 10_000 for i, name in enumerate(names)}
    elif category == "no_csrf":
        body, case.csrf = scalars, False
    elif category in walk.schemas:  # one schema's fields, plausible but one
        declared = walk.schemas[category]
        body = {name: plausible(walk, name, kind) for name, kind in declared.items()}
        body[list(declared)[n % len(declared)]] = SCALARS[n % len(SCALARS)]
    else:
        body = {}
    if category == "json":
        case.kwargs = {"json": {name: WRONG_TYPES[(n + i) % len(WRONG_TYPES)] for i, name in enumerate(names)}}
    elif category == "multipart":
        files = {name: (io.BytesIO(b"not an image, only words" * 40), "evil.jpg", "image/jpeg") for name in FILE_FIELDS}
        case.kwargs = {"data": {**scalars, **files}, "content_type": "multipart/form-data"}
    elif method == "GET":
        case.kwargs = {"query_string": body}
    else:
        case.kwargs = {"data": body}
    return case


def send(walk: Walk, case: Case) -> list[str]:
    """Send one case; the problems it showed (empty when it held)."""
    client, token = client_for(walk, "anonymous" if case.role == "outbox" else case.role)
    headers = {"Accept": "text/html"}
    if case.role == "outbox":
        headers |= {"X-Floorbook-Outbox": SCALARS[len(case.url) % len(SCALARS)].replace("\x00", "") or "garbage",
                    "Idempotency-Key": str(uuid.uuid4())}
    kwargs = dict(case.kwargs)
    if case.csrf and case.method == "POST":
        headers["X-CSRFToken"] = token
        if "data" in kwargs:
            kwargs["data"] = {**kwargs["data"], "csrf_token": token}
    before, logged = row_counts(), len(walk.errors)
    response = client.open(case.url, method=case.method, headers=headers, buffered=False, **kwargs)
    try:
        if case.endpoint in STREAMS and response.mimetype == "text/event-stream":
            body = next(iter(response.response), b"")  # the opening only: the stream itself never ends
        else:
            body = response.get_data()
    finally:
        response.close()
    flush_all()
    db.session.remove()  # a request that left its session dirty must not spoil the next
    problems = []
    label = f"{case.method} {case.url[:120]} as {case.role} ({case.category})"
    if response.status_code >= 500:
        problems.append(f"{label}: {response.status_code}")
    if b"Traceback" in (body if isinstance(body, bytes) else body.encode()):
        problems.append(f"{label}: a traceback in the body")
    if len(walk.errors) > logged:
        problems.append(f"{label}: unhandled error\n" + "\n".join(walk.errors[logged].strip().splitlines()[-6:]))
    refused = response.status_code in (401, 403, 404) and case.endpoint not in COUNTED_REFUSALS
    if (refused or not case.csrf) and row_counts() != before:
        after = row_counts()
        changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
        problems.append(f"{label}: {response.status_code} yet rows changed {changed}")
    return problems
