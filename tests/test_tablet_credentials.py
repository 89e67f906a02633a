"""Issue 11 findings 1, 2, 9 and SEC-CSRF-2: the outbox token, sessions on a revoked tablet, where each role
lands, and state changes from other sites."""
import json
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.models import Answer, Deviation
from app.models.types import utcnow
from app.security import OUTBOX_HEADER
from app.services.access.auth import hash_secret
from app.services.access.devices import register_device, revoke_device
from app.services.core.audit import Actor
from tests.helpers.builders import PASSWORD, Client
from tests.helpers.outbox import outbox_post, replay_headers, tablet_token

TOKEN_META = re.compile(r'<meta name="floorbook-outbox-token" content="([^"]+)">')


def answers(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Answer))


def on_tablet(app, client: Client, tablet) -> Client:
    """client with the registered tablet's device cookie, as the tablet's browser has it."""
    client.set_cookie(app.config["DEVICE_COOKIE"], tablet[1])
    return client


def badge_signed_in(app, tablet, badge: str = "7001", pin: str = "1357") -> Client:
    """A new browser on the tablet, signed in with badge and PIN through the real form."""
    app.test_client_class = Client
    client = on_tablet(app, app.test_client(), tablet)
    response = client.post_form("/login/badge", {"badge": badge, "pin": pin})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def item_url(draft, item: str = "hydraulic_pressure") -> str:
    return f"/floor/submissions/{draft.id}/items/{item}"


# ---- finding 1: the outbox token ---------------------------------------------------------------------

def test_a_token_copied_off_the_page_does_not_work_from_another_browser_after_sign_out(app, users, tablet,
                                                                                         start_draft, db):
    """Finding 1: the token from a tablet page, after sign-out, with no cookie (another browser) or with
    another tablet's cookie: 401 and nothing saved. From its own tablet (the outbox), it still delivers."""
    draft = start_draft(users.operator)
    browser = badge_signed_in(app, tablet)
    token = TOKEN_META.search(browser.get(f"/floor/submissions/{draft.id}").get_data(as_text=True)).group(1)
    assert browser.post_form("/logout").status_code == 302
    elsewhere = Client(app, app.response_class, use_cookies=False)
    headers = {OUTBOX_HEADER: token, "Idempotency-Key": str(uuid.uuid4()), "HX-Request": "true"}
    assert elsewhere.post(item_url(draft), data={"value": "150"}, headers=headers).status_code == 401
    _, other_cookie = register_device("Press 2 tablet", draft.station_id, Actor(users.admin.id))
    cookie = app.config["DEVICE_COOKIE"]
    foreign = headers | {"Cookie": f"{cookie}={other_cookie}", "Idempotency-Key": str(uuid.uuid4())}
    assert elsewhere.post(item_url(draft), data={"value": "150"}, headers=foreign).status_code == 401
    assert elsewhere.post(f"/floor/submissions/{draft.id}/submit", headers=foreign).status_code == 401
    assert answers(db) == 0
    own = headers | {"Cookie": f"{app.config['DEVICE_COOKIE']}={tablet[1]}", "Idempotency-Key": str(uuid.uuid4())}
    assert elsewhere.post(item_url(draft), data={"value": "150"}, headers=own).status_code == 401  # not left waiting
    assert answers(db) == 0


def _left_waiting(app, tablet, changes):
    """Badge sign-in on the tablet, then sign out naming `changes` ([(key, path)]) as left in the outbox."""
    browser = badge_signed_in(app, tablet)
    page = browser.get("/floor").get_data(as_text=True)
    token = TOKEN_META.search(page).group(1)
    response = browser.post_form("/logout", {"waiting": json.dumps([list(change) for change in changes])})
    assert response.status_code == 302 and "/login/badge" in response.headers["Location"]
    assert response.headers["Clear-Site-Data"] == '"cache"'  # SEC-SESS-5: not "storage", the outbox lives there
    return token


def test_after_sign_out_a_token_sends_only_what_its_author_left_waiting(app, users, tablet, start_draft, db):
    """Finding 1 on the tablet itself: after sign-out, the author's token (from the page or the outbox's
    storage, with the tablet's own cookie) sends the changes the sign-out named, each on its own path, and
    nothing new; a new sign-in by the author gives a token that works again."""
    draft = start_draft(users.operator)
    left = str(uuid.uuid4())
    token = _left_waiting(app, tablet, [(left, item_url(draft))])
    client = Client(app, app.response_class, use_cookies=False)
    cookie = {"Cookie": f"{app.config['DEVICE_COOKIE']}={tablet[1]}"}

    def replay(url, key, data):
        return client.post(url, data=data, headers=replay_headers(app, token, key) | cookie).status_code
    assert replay(item_url(draft, "guard_fitted"), left, {"value": "yes"}) == 401  # its key, another change
    assert replay(item_url(draft), str(uuid.uuid4()), {"value": "151"}) == 401  # a new change
    assert replay("/floor/submissions", str(uuid.uuid4()), {"id": str(uuid.uuid4()), "form_version_id": str(
        draft.form_version_id), "station_id": str(draft.station_id)}) == 401  # new work
    assert answers(db) == 0
    assert replay(item_url(draft), left, {"value": "150"}) == 200  # what was left waiting arrives, as theirs
    assert db.session.scalar(select(Answer.answered_by_id)) == users.operator.id
    fresh = TOKEN_META.search(badge_signed_in(app, tablet).get("/floor").get_data(as_text=True)).group(1)
    response = client.post(item_url(draft), data={"value": "152"},
                           headers=replay_headers(app, fresh, str(uuid.uuid4())) | cookie)
    assert response.status_code == 200


KEY = "3f0c8a52-9d4e-4b1a-8c7d-2e6f1a0b9c3d"


@pytest.mark.parametrize("waiting,words", [
    ("not json", "Expected a JSON list"), ('{"a": 1}', "Expected a JSON list"),
    ('[["not-a-key", "/floor/submissions"]]', "[Idempotency-Key, /floor/… path] pairs"),
    (json.dumps([[KEY, "/admin/devices"]]), "/floor/… path"),
    (json.dumps([[KEY, "/floor/x"]] * 2001), "at most 2,000")],
    ids=["not-json", "an-object", "not-a-key", "not-a-floor-path", "too-many"])
def test_a_sign_out_whose_waiting_list_is_not_one_is_refused_and_keeps_the_session(app, tablet, waiting, words):
    browser = badge_signed_in(app, tablet)
    response = browser.post_form("/logout", {"waiting": waiting})
    assert response.status_code == 422 and words in response.get_data(as_text=True)
    assert browser.get("/floor").status_code == 200  # still signed in: nothing was half done


@pytest.mark.parametrize("role,on_a_tablet,has_token", [
    ("operator", True, True), ("supervisor", True, True), ("inspector", True, True), ("operator", False, False),
    ("supervisor", False, False), ("inspector", False, False), ("auditor", True, False), ("admin", True, False)])
def test_only_people_filling_forms_on_a_registered_tablet_get_a_token(app, login, users, tablet, role, on_a_tablet,
                                                                     has_token):
    """Finding 1: a browser that is not a registered tablet, and a role that fills nothing, gets no token."""
    client = login(getattr(users, role))
    if on_a_tablet:
        on_tablet(app, client, tablet)
    page = client.get("/account/password").get_data(as_text=True)
    assert bool(TOKEN_META.search(page)) is has_token


def test_a_token_opens_only_what_the_outbox_sends(app, users, tablet, plant, db):
    """Finding 1: raising a deviation is not something the outbox sends: the token does not open it."""
    token = tablet_token(users.operator, tablet)
    response = outbox_post(app, "/deviations", token, str(uuid.uuid4()),
                           {"station_id": plant.stations["Press 1"].id, "title": "Leak", "description": "Oil"})
    assert response.status_code == 401
    assert db.session.scalar(select(func.count()).select_from(Deviation)) == 0


def test_a_token_reaches_only_its_authors_drafts(app, users, make_user, tablet, start_draft, db):
    """Finding 1 + 3: operator2's genuine token on operator1's draft at another station: 404, nothing saved."""
    someone = make_user("operator")
    draft = start_draft(someone, station="Press 2")
    response = outbox_post(app, item_url(draft), tablet_token(users.operator, tablet), str(uuid.uuid4()),
                           {"value": "150"})
    assert response.status_code == 404 and answers(db) == 0


def test_a_token_ends_when_its_tablet_is_revoked(app, users, tablet, start_draft, db):
    """Finding 1: revoking the tablet ends the tokens issued on it."""
    draft = start_draft(users.operator)
    token = tablet_token(users.operator, tablet)
    revoke_device(tablet[0], Actor(users.admin.id))
    client = Client(app, app.response_class, use_cookies=False)
    headers = replay_headers(app, token, str(uuid.uuid4()))
    response = client.post(item_url(draft), data={"value": "150"}, headers=headers)
    assert response.status_code == 401 and answers(db) == 0


def test_a_token_ends_when_its_authors_pin_changes(app, users, tablet, start_draft, db):
    """Finding 1: a changed PIN says the old one may be known: the tokens issued before it are refused."""
    draft = start_draft(users.operator)
    token = tablet_token(users.operator, tablet)
    users.operator.pin_hash = hash_secret("8642")
    db.session.commit()
    response = outbox_post(app, item_url(draft), token, str(uuid.uuid4()), {"value": "150"})
    assert response.status_code == 401 and answers(db) == 0


# ---- finding 2: revoking a tablet ends the sessions on it ---------------------------------------------

def test_revoking_a_tablet_ends_the_sessions_open_on_it(app, users, tablet, start_draft, db):
    """Finding 2: badge sign-in on D, D revoked, the session's next save is refused and nothing is stored;
    the browser is sent to sign in, told why."""
    draft = start_draft(users.operator)
    browser = badge_signed_in(app, tablet)
    assert browser.get("/floor").status_code == 200
    csrf = browser.csrf_token()  # the page's token, read before the revocation
    revoke_device(tablet[0], Actor(users.admin.id))
    response = browser.post(item_url(draft), data={"value": "150"}, headers={"HX-Request": "true", "X-CSRFToken": csrf})
    assert response.status_code == 204 and "reason=device" in response.headers["HX-Redirect"]
    assert answers(db) == 0
    assert "no longer registered" in browser.get(response.headers["HX-Redirect"]).get_data(as_text=True)
    page = browser.get("/floor")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")


def test_a_session_cookie_taken_to_another_tablet_does_not_work(app, users, tablet, db):
    """Finding 2: the session begun on tablet D, sent with tablet E's cookie, ends."""
    browser = badge_signed_in(app, tablet)
    _, other = register_device("Press 2 tablet", None, Actor(users.admin.id))
    browser.set_cookie(app.config["DEVICE_COOKIE"], other)
    assert browser.get("/floor").status_code == 302


# ---- finding 9: where each role lands ---------------------------------------------------------------

@pytest.mark.parametrize("role,landing", [("operator", "/floor"), ("inspector", "/review"),
                                          ("supervisor", "/deviations"), ("auditor", "/records"),
                                          ("admin", "/admin/devices")])
def test_each_role_lands_where_its_work_is(client, users, role, landing):
    """Finding 9: after password sign-in and at /, each role is sent to its work, and the page answers 200."""
    user = getattr(users, role)
    response = client.post_form("/login", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == landing
    assert client.get("/").headers["Location"] == landing
    assert client.get(landing).status_code in (200, 302)  # an operator's /floor goes on to pick a station
    assert "Your role does not allow this" not in client.get(landing, follow_redirects=True).get_data(as_text=True)


def test_a_registered_tablet_offers_badge_sign_in_first(app, client, login, users, tablet):
    """Finding 9: on a registered tablet, / and an expired session go to badge sign-in, not the password page."""
    on_tablet(app, client, tablet)
    assert client.get("/").headers["Location"].startswith("/login/badge")
    assert client.get("/floor").headers["Location"].startswith("/login/badge")
    signed_in = on_tablet(app, login(users.operator, tablet=True), tablet)
    with signed_in.session_transaction() as session:
        session["last_seen"] = (utcnow() - timedelta(minutes=app.config["IDLE_TIMEOUT_MINUTES"] + 1)).isoformat()
    expired = signed_in.get("/floor")
    assert expired.headers["Location"].startswith("/login/badge") and "reason=idle" in expired.headers["Location"]


# ---- SEC-CSRF-2: fetch metadata --------------------------------------------------------------------

@pytest.mark.parametrize("headers,allowed", [
    ({"Sec-Fetch-Site": "cross-site"}, False), ({"Sec-Fetch-Site": "same-site"}, False),
    ({"Origin": "https://evil.example"}, False), ({"Origin": "null"}, False),
    ({"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}, True), ({"Sec-Fetch-Site": "none"}, True),
    ({}, True)])
def test_state_changes_from_another_site_are_refused_even_with_a_valid_token(login, users, start_draft, db,
                                                                              headers, allowed):
    """SEC-CSRF-2: a POST with a valid CSRF token but cross-site fetch metadata or a foreign Origin: 403, and
    the answer is not stored."""
    draft = start_draft(users.operator)
    response = login(users.operator, tablet=True).post_form(item_url(draft), {"value": "150"}, htmx=True,
                                                            headers=headers)
    assert (response.status_code == 200) is allowed
    assert answers(db) == int(allowed)
    if not allowed:
        assert response.status_code == 403 and "another site" in response.get_data(as_text=True)
