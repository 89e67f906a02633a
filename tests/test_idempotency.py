"""Exactly-once tablet requests: Idempotency-Key replays, the outbox token, and Vary on pages."""
import json
import http.client
import io
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode, urlsplit

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from app.models import Answer, Attachment, AuditEvent, Deviation, DowntimeEvent, IdempotencyKey, RecordVersion, Submission
from app.idempotency import store as idempotency
from app.idempotency.responses import flush_all as responses_written
from app.services.access import auth as auth_service, outbox_tokens
from app.services.core.audit import Actor
from app.security import OUTBOX_HEADER
from tests.helpers.builders import PASSWORD, sign_in
from tests.helpers.outbox import TabletToken, outbox_post, replay_headers, tablet_token  # noqa: F401 (others import outbox_post here)
from tests.helpers.photos import jpeg_with_exif, png
from tests.test_floor import PRESS, fill_passing, operator  # noqa: F401 (operator is a fixture)

REPLAYED = "Idempotent-Replayed"
_TOKEN_META = re.compile(r'<meta name="floorbook-outbox-token" content="([^"]+)">')


def new_key() -> str:
    return str(uuid.uuid4())


def count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audits(db, action: str) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def item_url(draft, item: str, suffix: str = "") -> str:
    return f"/floor/submissions/{draft.id}/items/{item}{suffix}"


def keyed(client, url: str, key: str, data: dict | None = None, htmx: bool = True, **kwargs):
    """POST as the fill page does (with its CSRF token) carrying an Idempotency-Key."""
    return client.post_form(url, data, htmx=htmx, headers={"Idempotency-Key": key}, **kwargs)


def keyed_photo(client, draft, key: str, data: bytes):
    return keyed(client, item_url(draft, "guard_photo", "/photo"), key, {"photo": (io.BytesIO(data), "guard.jpg")},
                 content_type="multipart/form-data")




def refused(response) -> bool:
    """Not let in, and told so with 401: the outbox keeps the change and asks its author to sign in
    (a 2xx redirect to the sign-in page would look delivered, and the change would be dropped)."""
    return response.status_code == 401 and "HX-Redirect" not in response.headers


def aged_token(secret: str, user, tablet, hours: float) -> TabletToken:
    """An outbox token of tablet signed with secret as if issued hours ago."""
    class Aged(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - hours * 3600)
    payload = {"u": user.id, "d": tablet[0].id, "c": outbox_tokens.credentials(user)}
    token = TabletToken(URLSafeTimedSerializer(secret, salt=outbox_tokens.SALT, signer=Aged).dumps(payload))
    token.cookie = tablet[1]
    return token


# ---- replays over the test client ------------------------------------------------------------------

def test_ten_repeats_of_an_out_of_spec_answer_save_once(operator, users, start_draft, db):
    """One answer, one deviation, one audit event; ten identical bodies, nine marked as replays."""
    draft = start_draft(users.operator)
    key = new_key()
    responses = [keyed(operator, item_url(draft, "hydraulic_pressure"), key,
                       {"value": "171", "device_time": f"2026-03-01T06:00:0{i}Z"}) for i in range(10)]
    assert [r.status_code for r in responses] == [200] * 10
    assert len({r.get_data() for r in responses}) == 1 and "item--fail" in responses[0].get_data(as_text=True)
    assert REPLAYED not in responses[0].headers
    assert [r.headers.get(REPLAYED) for r in responses[1:]] == ["true"] * 9
    assert count(db, Answer) == 1 and count(db, Deviation) == 1 and len(audits(db, "answer.saved")) == 1
    assert db.session.scalar(select(Answer.value_json)) == "171.0"
    responses_written()  # the response is written behind the request, within milliseconds
    db.session.rollback()  # this session's read began before that write: read from now (WAL snapshot)
    row = db.session.get(IdempotencyKey, key)
    assert (row.status, row.user_id, row.method) == (200, users.operator.id, "POST")
    assert row.body == responses[0].get_data()


def test_a_key_belongs_to_one_request_of_one_user(operator, login, users, make_user, start_draft, db):
    """The same key with another body or another user is 422 naming the header; a malformed key is 400."""
    draft = start_draft(users.operator)
    url, key = item_url(draft, "hydraulic_pressure"), new_key()
    assert keyed(operator, url, key, {"value": "150"}).status_code == 200
    other_body = keyed(operator, url, key, {"value": "171"})
    assert other_body.status_code == 422 and "Idempotency-Key" in other_body.get_data(as_text=True)
    other_user = keyed(login(make_user("operator"), tablet=True), url, key, {"value": "150"})
    assert other_user.status_code == 422 and "Idempotency-Key" in other_user.get_data(as_text=True)
    for bad in ("short", "has space in it", "x" * 129, "slash/in/the/key"):
        response = keyed(operator, url, bad, {"value": "171"})
        assert response.status_code == 400 and "Idempotency-Key" in response.get_data(as_text=True), bad
    db.session.expire_all()
    assert db.session.scalar(select(Answer.value_json)) == "150.0" and count(db, Deviation) == 0
    assert len(audits(db, "answer.saved")) == 1 and count(db, IdempotencyKey) == 1


def test_a_refused_request_is_not_kept_and_its_key_runs_again(operator, users, start_draft, db):
    """A 422 stores no key: the same submit, repeated once the missing answers are in, succeeds."""
    draft = start_draft(users.operator)
    bad_key = new_key()
    for _ in range(2):  # a refused value runs again each time (no replay), nothing is stored
        response = keyed(operator, item_url(draft, "hydraulic_pressure"), bad_key, {"value": "abc"})
        assert response.status_code == 422 and REPLAYED not in response.headers
    assert count(db, Answer) == 0 and db.session.get(IdempotencyKey, bad_key) is None
    submit_url, key = f"/floor/submissions/{draft.id}/submit", new_key()
    missing = keyed(operator, submit_url, key)
    assert missing.status_code == 422 and 'href="#item-guards_in_place"' in missing.get_data(as_text=True)
    assert db.session.get(IdempotencyKey, key) is None and count(db, RecordVersion) == 0
    fill_passing(operator, draft)
    done = keyed(operator, submit_url, key)
    assert done.status_code == 204 and done.headers["HX-Redirect"] == f"/records/{draft.id}"
    assert REPLAYED not in done.headers and count(db, RecordVersion) == 1
    again = keyed(operator, submit_url, key)
    assert (again.status_code, again.headers[REPLAYED], again.headers["HX-Redirect"]) == (204, "true", f"/records/{draft.id}")
    assert count(db, RecordVersion) == 1 and len(audits(db, "submission.submitted")) == 1


def test_photo_key_covers_the_file_contents(operator, users, start_draft, db):
    """A photo sent twice with its key is stored once; the key with another photo is 422."""
    draft = start_draft(users.operator)
    key, data = new_key(), jpeg_with_exif()
    first, second = keyed_photo(operator, draft, key, data), keyed_photo(operator, draft, key, data)
    assert first.status_code == second.status_code == 200 and second.headers[REPLAYED] == "true"
    assert first.get_data() == second.get_data()
    different = keyed_photo(operator, draft, key, png())
    assert different.status_code == 422 and "Idempotency-Key" in different.get_data(as_text=True)
    db.session.expire_all()
    assert count(db, Attachment) == 1 and count(db, Answer) == 1 and len(audits(db, "answer.saved")) == 1
    assert len(db.session.scalar(select(Answer)).value) == 1


def test_downtime_start_and_stop_run_once(app, login, users, plant, tablet, db):
    """The downtime endpoints honour the key too: one event, one stop, the repeats replayed."""
    client = login(users.operator, tablet=True)
    client.set_cookie(app.config["DEVICE_COOKIE"], tablet[1])  # operators report downtime at a registered tablet
    press = plant.stations["Press 1"]
    start_key, stop_key = new_key(), new_key()
    started = [keyed(client, "/floor/downtime", start_key, {"station_id": press.id, "reason_code": "hydraulic_leak"},
                     htmx=False) for _ in range(3)]
    assert {(r.status_code, r.headers["Location"]) for r in started} == {(303, "/floor")}
    assert [r.headers.get(REPLAYED) for r in started] == [None, "true", "true"]
    event = db.session.scalar(select(DowntimeEvent))
    stopped = [keyed(client, f"/floor/downtime/{event.id}/stop", stop_key, {"fix": "new hose"}, htmx=False)
               for _ in range(3)]
    assert [r.status_code for r in stopped] == [303] * 3 and stopped[2].headers[REPLAYED] == "true"
    db.session.expire_all()
    assert count(db, DowntimeEvent) == 1 and db.session.get(DowntimeEvent, event.id).fix == "new hose"
    assert len(audits(db, "downtime.started")) == 1 and len(audits(db, "downtime.stopped")) == 1


def test_a_change_whose_response_was_lost_answers_already_saved(operator, users, start_draft, db, monkeypatch):
    """A key row without a stored response (the process died after the commit) replays 'already saved'."""
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.2)
    draft = start_draft(users.operator)
    url, key = item_url(draft, "hydraulic_pressure"), new_key()
    assert keyed(operator, url, key, {"value": "171"}).status_code == 200
    responses_written()
    db.session.rollback()  # read what was written, not this session's earlier snapshot
    row = db.session.get(IdempotencyKey, key)
    row.status = row.body = row.headers_json = None
    db.session.commit()
    began = time.monotonic()
    again = keyed(operator, url, key, {"value": "171"})
    assert (again.status_code, again.mimetype, again.headers[REPLAYED]) == (200, "text/plain", "true")
    assert again.get_data(as_text=True) == "This change was already saved on the server."
    assert time.monotonic() - began >= 0.2  # it waited for a first use that might still be storing it
    assert count(db, Answer) == 1 and count(db, Deviation) == 1 and len(audits(db, "answer.saved")) == 1
    db.session.expire_all()
    assert db.session.get(IdempotencyKey, key).status is None


# ---- the outbox token ------------------------------------------------------------------------------

def test_outbox_token_saves_as_its_author_after_someone_else_signs_in(operator, make_user, users, tablet, start_draft, app, db):
    """A replay with A's token and the tablet's cookie saves as A though B is now signed in on the tablet (B's
    session cookie goes with it and is ignored); B's session alone still needs CSRF."""
    draft = start_draft(users.operator)
    operator.set_cookie(app.config["DEVICE_COOKIE"], tablet[1])
    token = _TOKEN_META.search(operator.get(f"/floor/submissions/{draft.id}").get_data(as_text=True)).group(1)
    waiting = new_key()  # the change A's outbox still holds when A signs out
    left = json.dumps([[waiting, item_url(draft, "hydraulic_pressure")]])
    assert operator.post_form("/logout", {"waiting": left}).status_code == 302
    other = make_user("operator")
    sign_in(operator, other, tablet=True)
    no_csrf = operator.post(item_url(draft, "guards_in_place"), data={"value": "pass"},
                            headers={"Idempotency-Key": new_key(), "HX-Request": "true"})
    assert no_csrf.status_code == 400 and count(db, Answer) == 0
    response = operator.post(item_url(draft, "hydraulic_pressure"), data={"value": "171"},
                             headers={OUTBOX_HEADER: token, "Idempotency-Key": waiting, "HX-Request": "true"})
    assert response.status_code == 200 and "item--fail" in response.get_data(as_text=True)
    saved = db.session.scalar(select(Answer))
    assert (saved.item_name, saved.answered_by_id) == ("hydraulic_pressure", users.operator.id)
    assert [e.actor_id for e in audits(db, "answer.saved")] == [users.operator.id]
    assert db.session.scalar(select(Deviation.raised_by_id)) == users.operator.id


@pytest.mark.parametrize("case,accepted", [("13 hours old", True), ("15 hours old", False), ("forged", False),
                                           ("deactivated", False)])
def test_outbox_token_is_refused_when_not_genuine_current_and_active(app, users, tablet, start_draft, db, case, accepted):
    """Only a genuine token of an active user younger than OUTBOX_TOKEN_HOURS (14) lets a change in."""
    draft = start_draft(users.operator)
    secret = "someone-elses-secret" if case == "forged" else app.config["SECRET_KEY"]
    token = aged_token(secret, users.operator, tablet, {"13 hours old": 13, "15 hours old": 15}.get(case, 0))
    if case == "deactivated":
        users.operator.active = False
        db.session.commit()
    response = outbox_post(app, item_url(draft, "hydraulic_pressure"), token, new_key(), {"value": "171"})
    assert (response.status_code == 200) is accepted and refused(response) is not accepted
    assert count(db, Answer) == count(db, Deviation) == count(db, IdempotencyKey) == int(accepted)


def test_outbox_token_ends_with_a_password_change(app, users, tablet, start_draft, db):
    """A token issued before the password changed is refused (401): the change waits for its author's
    next sign-in on the tablet, which gives it a token with the new credentials."""
    draft = start_draft(users.operator)
    token = tablet_token(users.operator, tablet)
    auth_service.change_password(users.operator, PASSWORD, "a-brand-new-password", Actor(users.operator.id))
    response = outbox_post(app, item_url(draft, "hydraulic_pressure"), token, new_key(), {"value": "150"})
    assert refused(response) and count(db, Answer) == 0
    fresh = tablet_token(users.operator, tablet)
    assert outbox_post(app, item_url(draft, "hydraulic_pressure"), fresh, new_key(), {"value": "150"}).status_code == 200


def test_outbox_token_opens_only_idempotent_endpoints(app, users, tablet, plant, db):
    """A genuine token on a POST the outbox does not send (choosing a station) is not let in."""
    token = tablet_token(users.operator, tablet)
    response = outbox_post(app, "/floor/station", token, new_key(), {"station_id": plant.stations["Press 1"].id})
    assert refused(response) and response.headers.get("Location") != "/floor"
    assert count(db, AuditEvent, AuditEvent.actor_id == users.operator.id) == 0


def test_every_answer_to_a_keyed_change_names_its_key(app, users, tablet, plant, start_draft, db):
    """The outbox counts a change as delivered only on a 2xx that echoes its key: the first answer and
    its replays echo it, a replayed start is an HX-Redirect a script can read (not an opaque 303), and
    a refusal names no key (it was not taken)."""
    token = tablet_token(users.operator, tablet)
    sub_id, key = new_key(), new_key()
    start = {"id": sub_id, "form_version_id": plant.forms["press-start-of-shift"].id,
             "station_id": plant.stations["Press 1"].id}
    first, again = (outbox_post(app, "/floor/submissions", token, key, start) for _ in range(2))
    for response in (first, again):
        assert response.status_code == 204 and response.headers["Idempotency-Key"] == key
        assert response.headers["HX-Redirect"] == f"/floor/submissions/{sub_id}"
    assert again.headers[REPLAYED] == "true" and count(db, Submission, Submission.id == sub_id) == 1
    saved_key, bad_key = new_key(), new_key()
    saved = outbox_post(app, item_url(db.session.get(Submission, sub_id), "hydraulic_pressure"), token, saved_key,
                        {"value": "150"})
    bad = outbox_post(app, item_url(db.session.get(Submission, sub_id), "hydraulic_pressure"), token, bad_key,
                      {"value": "twelve"})
    assert saved.status_code == 200 and saved.headers["Idempotency-Key"] == saved_key
    assert bad.status_code == 422 and "Idempotency-Key" not in bad.headers


# ---- many at once over real HTTP ----------------------------------------------------------------------

@pytest.fixture
def ready(app, login, users, tablet, plant, start_draft):
    """Plain values for the server test (the ORM objects detach once the server starts): token, ids, a filled draft."""
    filled = start_draft(users.operator)
    fill_passing(login(users.operator, tablet=True), filled)
    return {"token": tablet_token(users.operator, tablet), "cookie": f"{app.config['DEVICE_COOKIE']}={tablet[1]}", "form": plant.forms[PRESS].id,
            "station": plant.stations["Press 1"].id, "filled": filled.id}


def hammer(base: str, path: str, data: dict, ready: dict, n: int = 10) -> list[tuple]:
    """n threads send the same replay (the tablet's cookie, no session) with one key at the same moment:
    (status, location, replayed)."""
    host, key, barrier = urlsplit(base), new_key(), threading.Barrier(n)
    headers = {"Content-Type": "application/x-www-form-urlencoded", OUTBOX_HEADER: ready["token"], "Idempotency-Key": key,
               "HX-Request": "true" if path.endswith("/submit") else "false", "Cookie": ready["cookie"]}

    def send(_):
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
        try:
            barrier.wait()
            conn.request("POST", path, urlencode(data), headers)
            response = conn.getresponse()
            response.read()
            return (response.status, response.headers.get("Location") or response.headers.get("HX-Redirect"),
                    response.headers.get(REPLAYED))
        finally:
            conn.close()
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(send, range(n)))


def test_ten_concurrent_starts_make_one_submission(ready, live_server, db):
    """Ten simultaneous copies of one start: one draft, one audit event, ten 303s to the same page."""
    sub_id = new_key()
    results = hammer(live_server, "/floor/submissions",
                     {"id": sub_id, "form_version_id": ready["form"], "station_id": ready["station"]}, ready)
    assert {(status, location) for status, location, _ in results} == {(303, f"/floor/submissions/{sub_id}")}
    assert sorted(replayed or "" for *_, replayed in results) == [""] + ["true"] * 9
    assert count(db, Submission, Submission.id == sub_id) == 1
    assert [e.entity_id for e in audits(db, "submission.started")].count(sub_id) == 1


def test_ten_concurrent_submits_freeze_one_version(ready, live_server, db):
    """Ten simultaneous copies of one submit: one record version, every answer a success to the record."""
    results = hammer(live_server, f"/floor/submissions/{ready['filled']}/submit", {}, ready)
    assert {(status, location) for status, location, _ in results} == {(204, f"/records/{ready['filled']}")}
    assert sorted(replayed or "" for *_, replayed in results) == [""] + ["true"] * 9
    assert count(db, RecordVersion) == 1 and len(audits(db, "submission.submitted")) == 1
    assert db.session.get(Submission, ready["filled"]).status != "draft"


# ---- caches -----------------------------------------------------------------------------------------

def test_pages_vary_on_hx_request(operator, users, plant, start_draft):
    """The fill page and the station home tell caches that htmx requests get other bodies."""
    draft = start_draft(users.operator)
    assert operator.post_form("/floor/station", {"station_id": plant.stations["Press 1"].id}).status_code == 302
    for url in (f"/floor/submissions/{draft.id}", "/floor"):
        response = operator.get(url)
        assert response.status_code == 200 and response.mimetype == "text/html", url
        assert "HX-Request" in response.vary, url


def test_outbox_token_of_a_revoked_tablet_is_refused(app, users, tablet, start_draft, db):
    """A tablet revoked as lost: the changes it still holds are not taken, whoever's they are."""
    draft = start_draft(users.operator)
    device = tablet[0]
    token = tablet_token(users.operator, tablet)
    device.revoked_at = device.registered_at
    db.session.commit()
    response = outbox_post(app, item_url(draft, "hydraulic_pressure"), token, new_key(), {"value": "150"})
    assert refused(response) and count(db, Answer) == 0
