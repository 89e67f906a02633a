"""The route walker: every route of app.url_map × every role × GET and POST, with hostile input.

The routes are read from the app when the tests are collected, so a new route is walked without editing
this file. Each route × role × method gets one request per kind of hostile input (path values, scalar
values, repeated and unknown fields, a JSON body or a huge query string, a multipart body whose file is no
image, a POST without its CSRF token), then one request per request schema of the app with plausible values
in all its fields but one hostile, so the code past the parsing runs too. No answer may be a 5xx, log an
unhandled error or show a traceback, and a request refused (401, 403, 404) or sent without a valid CSRF token
may change no table's row count (the audit table included). One seeded database serves the whole module;
the machinery is tests/helpers/walker.py.
"""
import tempfile
import uuid
from urllib.parse import quote

import pytest

from app import create_app
from app.config import TestingConfig
from app.extensions import db
from app.inputs import MAX_ID
from tests.helpers.walker import CATEGORIES, NINES, ROLES, client_for, fill, make_case, real_value, row_counts, send
from tests.helpers.walker import walk  # noqa: F401  (the module-scoped fixture)


def _routes() -> list[tuple[str, str]]:
    """(endpoint, method) of every GET and POST rule of a freshly made app, read when the tests are collected."""
    with tempfile.TemporaryDirectory(prefix="walker-routes-") as instance:
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://", INSTANCE_PATH=instance)
        return sorted((rule.endpoint, method) for rule in app.url_map.iter_rules()
                      for method in ("GET", "POST") if method in rule.methods)


ROUTES = _routes()


def test_walker_reads_every_route(walk):
    """The walk covers every route the app has, read from app.url_map (so a new route needs no edit here)."""
    endpoints = {endpoint for endpoint, _method in ROUTES}
    assert endpoints == {rule.endpoint for rule in walk.app.url_map.iter_rules()}
    assert len(endpoints) > 50 and {"id", "station_id", "form_version_id", "q", "value"} <= set(walk.fields)


@pytest.mark.parametrize("endpoint,method", ROUTES, ids=[f"{m} {e}" for e, m in ROUTES])
def test_route_survives_hostile_input(walk, endpoint, method):
    """No 5xx, no traceback, no row changed without authorization, for every role and kind of hostile input."""
    problems = []
    for role in ROLES:
        for category in CATEGORIES[method]:
            problems += send(walk, make_case(walk, endpoint, method, role, category))
    for n, schema in enumerate(walk.schemas):  # each schema once, the roles in turn
        problems += send(walk, make_case(walk, endpoint, method, ROLES[1 + n % (len(ROLES) - 1)], schema))
    assert not problems, "\n".join(problems)


WHOLE = "Expected a whole number from 1 to 2,147,483,647."


# Issue 11 finding 4: each address that gave a 500 for 30 nines, and 2**31 (past PostgreSQL's Integer).
@pytest.mark.parametrize("big", [NINES, str(2**31)], ids=["30 nines", "2**31"])
@pytest.mark.parametrize("role,method,address,posted,status,message", [
    ("supervisor", "GET", "/deviations/{big}", None, 404, None),
    ("inspector", "GET", "/review?line={big}", None, 422, WHOLE),
    ("auditor", "GET", "/records?station={big}", None, 422, "Choose one from the list."),
    ("operator", "GET", "/floor/forms/{big}/blank", None, 404, None),
    ("operator", "GET", "/floor/forms/{form_version_id}/blank?station={big}", None, 422, WHOLE),
    ("operator", "POST", "/floor/submissions", "form_version_id", 422, WHOLE),
    ("admin", "POST", "/admin/devices/{big}/revoke", None, 404, None),
    ("operator", "POST", "/floor/downtime/{big}/stop", None, 404, None),
], ids=["deviation", "review line", "records station", "blank form", "blank station", "start form_version_id",
        "revoke device", "stop downtime"])
def test_huge_ids_are_refused_as_4xx(walk, big, role, method, address, posted, status, message):
    """A huge id in a path is a 404, and in a field or query argument a 422 saying what is expected, not a 500."""
    client, token = client_for(walk, role)
    url = address.format(big=big, form_version_id=walk.real["form_version_id"])
    data = None
    if method == "POST":
        data = {"csrf_token": token, "fix": "Reset"} if posted is None else {
            "csrf_token": token, "id": str(uuid.uuid4()), "station_id": "1", posted: big}
    before = row_counts()
    response = client.open(url, method=method, data=data)
    db.session.remove()
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    if message:
        assert message in response.get_data(as_text=True)
    assert row_counts() == before


def test_a_megabyte_query_value_is_a_422(walk):
    """A 1 MB search text is refused, saying how long it may be, instead of being searched for."""
    client, _token = client_for(walk, "supervisor")
    for address, name, message in (("/records", "q", "Search text is at most 200 characters."),
                                   ("/deviations", "q", "Search text is at most 200 characters."),
                                   ("/review", "form", "Use at most 80 characters.")):
        response = client.get(address, query_string={name: "x" * 1_000_000})
        assert response.status_code == 422, address
        assert message in response.get_data(as_text=True)
    db.session.remove()


def test_a_nul_in_a_path_or_a_field_is_refused(walk):
    """PostgreSQL refuses a NUL in a value: the app refuses it first (404 in a path, 422 in a field)."""
    client, _token = client_for(walk, "operator")
    assert client.get("/floor/submissions/%00").status_code == 404
    anonymous, token = client_for(walk, "anonymous")
    response = anonymous.post("/login", data={"csrf_token": token, "username": "w-\x00admin", "password": "x"})
    assert response.status_code == 422
    assert "Expected text without control characters." in response.get_data(as_text=True)
    db.session.remove()


def test_ids_past_the_integer_column_are_404_in_every_int_path(walk):
    """Every <int:…> path argument matches 0 to MAX_ID in ASCII digits only: MAX_ID + 1, 2**63 and ٣ are 404s."""
    client, _token = client_for(walk, "admin")
    rules = [r for r in walk.app.url_map.iter_rules() if "<int:" in r.rule]
    assert rules
    for rule in rules:
        method = "GET" if "GET" in rule.methods else "POST"
        for value in (str(MAX_ID + 1), str(2**63), quote("٣")):
            values = {name: value if f"<int:{name}>" in rule.rule else real_value(walk, name) for name in rule.arguments}
            url = fill(rule, values)
            assert client.open(url, method=method, headers={"X-CSRFToken": _token}).status_code == 404, url
    db.session.remove()


def test_a_too_long_cause_category_is_a_422(walk):
    """An explanation's cause category longer than its column (80) is refused naming the field."""
    client, token = client_for(walk, "operator")
    url = f"/floor/submissions/{walk.real['submission_id']}/items/hydraulic_pressure/explain"
    response = client.post(url, data={"csrf_token": token, "reason": "r", "action": "a", "cause_category": "c" * 81})
    db.session.remove()
    assert response.status_code == 422
    assert "Use at most 80 characters." in response.get_data(as_text=True)
