"""The operator's flow over HTTP: station home, start, autosave, evaluation, photos, submit."""
import io
import json
import uuid
from datetime import datetime, timezone

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.canonical import canonical_json, sha256_hex
from app.models import Answer, Attachment, AuditEvent, RecordVersion, Submission
from app.models.types import frozen_clock
from tests.helpers.photos import gif, jpeg_with_exif, png

PRESS = "press-start-of-shift"
PASSING = {"guards_in_place": "pass", "light_curtain": "pass", "two_hand_control": "pass",
           "emergency_stop": "pass", "oil_leaks": "pass", "lubrication_level": "pass"}


@pytest.fixture
def operator(login, users, plant):
    """operator signed in on a tablet session."""
    return login(users.operator, tablet=True)


def answer(client, draft, item, htmx=True, **fields):
    """Post one answer as the fill page does."""
    return client.post_form(f"/floor/submissions/{draft.id}/items/{item}", fields, htmx=htmx)


def photo(client, draft, data, item="guard_photo", name="guard.jpg"):
    """Upload a photo as the fill page does."""
    return client.post_form(f"/floor/submissions/{draft.id}/items/{item}/photo",
                            {"photo": (io.BytesIO(data), name)}, htmx=True, content_type="multipart/form-data")


def fill_passing(client, draft):
    """Answer every required item of the press check within spec."""
    for item, value in PASSING.items():
        assert answer(client, draft, item, value=value).status_code == 200
    assert answer(client, draft, "hydraulic_pressure", value="150.2").status_code == 200
    assert photo(client, draft, png()).status_code == 200


def test_station_home_lists_forms_for_the_station(operator, plant):
    """Press 1 shows the press check but not the forklift check."""
    operator.post_form("/floor/station", {"station_id": plant.stations["Press 1"].id})
    html = operator.get("/floor").get_data(as_text=True)
    assert "Press start-of-shift check" in html and "Forklift" not in html


def test_tablet_home_station_is_the_default(login, users, tablet, app):
    """A registered tablet opens at its home station."""
    client = login(users.operator, tablet=True)
    client.set_cookie(app.config["DEVICE_COOKIE"], tablet[1])
    assert "<h1 class=\"page-title\">Press 1</h1>" in client.get("/floor").get_data(as_text=True)


def test_without_a_station_the_picker_opens(operator):
    """No device and no choice yet: the station picker."""
    response = operator.get("/floor")
    assert response.status_code == 302 and response.headers["Location"] == "/floor/stations"


def test_start_twice_gives_one_submission(operator, plant, db):
    """The browser's UUID is the idempotency key."""
    sub_id = str(uuid.uuid4())
    data = {"id": sub_id, "form_version_id": plant.forms[PRESS].id, "station_id": plant.stations["Press 1"].id}
    first, second = operator.post_form("/floor/submissions", data), operator.post_form("/floor/submissions", data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"] == f"/floor/submissions/{sub_id}"
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 1


NOW = datetime(2026, 11, 24, 21, 0, tzinfo=timezone.utc)  # 15:00 in Chicago: shift B (14:00-22:00)


@pytest.mark.parametrize("sent,started,shift", [
    ("2026-11-24T12:00:00-06:00", datetime(2026, 11, 24, 18, 0, tzinfo=timezone.utc), "A"),  # kept offline 3 h
    ("2026-11-24T21:00:30Z", NOW, "B"),  # the tablet's clock is ahead of the server's: the server's time
    ("2026-11-10T12:00:00Z", NOW, "B"),  # older than a kept change can be
    (None, NOW, "B"),
])
def test_a_start_kept_offline_belongs_to_the_shift_it_was_made_in(app, users, tablet, plant, db, sent, started, shift):
    """A start the outbox sends later carries the tablet's time; the draft takes that time and its shift,
    and the audit event keeps both times."""
    from tests.helpers.outbox import outbox_post, tablet_token

    data = {"id": str(uuid.uuid4()), "form_version_id": plant.forms[PRESS].id, "station_id": plant.stations["Press 1"].id}
    with frozen_clock(NOW):
        token = tablet_token(users.operator, tablet)
        response = outbox_post(app, "/floor/submissions", token, str(uuid.uuid4()), data | ({"device_time": sent} if sent else {}))
    assert response.status_code == 204
    submission = db.session.get(Submission, data["id"])
    assert submission.started_at.replace(tzinfo=timezone.utc) == started
    assert (str(submission.shift_date), submission.shift_code) == ("2026-11-24", shift)
    event = json.loads(db.session.scalar(select(AuditEvent.after_json).where(AuditEvent.action == "submission.started")))
    assert event["started_at"] == started.isoformat() and (event["device_time"] is not None) == bool(sent)


def test_a_start_made_online_is_dated_by_the_server(operator, plant, db):
    """device_time on a start sent with the session (not kept offline) does not date it."""
    data = {"id": str(uuid.uuid4()), "form_version_id": plant.forms[PRESS].id, "station_id": plant.stations["Press 1"].id,
            "device_time": "2026-11-24T12:00:00-06:00"}
    with frozen_clock(NOW):
        assert operator.post_form("/floor/submissions", data).status_code == 303
    assert db.session.get(Submission, data["id"]).started_at.replace(tzinfo=timezone.utc) == NOW


@pytest.mark.parametrize("sent,message", [("yesterday", "Expected an ISO 8601 time"),
                                          ("2026-11-24T12:00:00", "Expected a time with its time zone")])
def test_a_start_with_a_malformed_device_time_is_refused(operator, plant, db, sent, message):
    """device_time must be an ISO 8601 time with its zone: 422 naming the field, nothing created."""
    data = {"id": str(uuid.uuid4()), "form_version_id": plant.forms[PRESS].id, "station_id": plant.stations["Press 1"].id,
            "device_time": sent}
    response = operator.post_form("/floor/submissions", data)
    assert response.status_code == 422 and "device_time" in response.get_data(as_text=True)
    assert message in response.get_data(as_text=True) and db.session.get(Submission, data["id"]) is None


@pytest.mark.parametrize("bad", [{"id": "not-a-uuid"}, {"station_id": "Pack 1"}])
def test_start_refuses_bad_input(operator, plant, db, bad):
    """A malformed id or a form that does not apply at the station is refused; nothing is created."""
    data = {"id": str(uuid.uuid4()), "form_version_id": plant.forms[PRESS].id, "station_id": plant.stations["Press 1"].id}
    if "station_id" in bad:
        bad = {"station_id": plant.stations[bad["station_id"]].id}
    response = operator.post_form("/floor/submissions", data | bad)
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 0


def test_answer_is_saved_audited_and_idempotent(operator, users, start_draft, db):
    """Each save stores the value, writes one audit event with old and new, and a repeat changes nothing."""
    draft = start_draft(users.operator)
    assert answer(operator, draft, "guards_in_place", value="pass").status_code == 200
    assert answer(operator, draft, "guards_in_place", value="pass").status_code == 200
    assert answer(operator, draft, "guards_in_place", value="fail").status_code == 200
    saved = db.session.scalar(select(Answer).where(Answer.item_name == "guards_in_place"))
    assert saved.value == "fail" and saved.state == "fail"
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "answer.saved")).all()
    assert len(events) == 2
    assert json.loads(events[1].before_json)["value"] == "pass" and json.loads(events[1].after_json)["value"] == "fail"
    assert events[1].actor_id == users.operator.id


@pytest.mark.parametrize("value,state,words", [
    ("171", "fail", "Out of spec"), ("139.9", "fail", "Out of spec"), ("144", "ok", "OK"),
    ("142.5", "warn", "Warning"), ("158.5", "warn", "Warning"),
])
def test_number_is_judged_on_the_server(operator, users, start_draft, value, state, words):
    """Outside lsl/usl is red and asks why; inside the warn band amber; else OK."""
    draft = start_draft(users.operator)
    html = answer(operator, draft, "hydraulic_pressure", value=value).get_data(as_text=True)
    assert f'class="item item--{state}"' in html and words in html
    # The prompt also rides on the item for the tablet's offline check; only a failure shows the why box.
    assert ('<form class="why-box"' in html) == (state == "fail")
    assert html.count("Why is the pressure out of range") == (2 if state == "fail" else 1)


def test_not_a_number_is_refused_with_the_reason(operator, users, start_draft, db):
    """A value that is not a number gets 422 with a message and is not stored."""
    draft = start_draft(users.operator)
    response = answer(operator, draft, "hydraulic_pressure", value="abc")
    assert response.status_code == 422 and "number" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Answer)) == 0


def test_failed_check_asks_why_and_keeps_the_explanation(operator, users, start_draft, db):
    """A failed check turns red, asks the on_fail prompt, and stores reason and action."""
    draft = start_draft(users.operator)
    html = answer(operator, draft, "guards_in_place", value="fail").get_data(as_text=True)
    assert "Which guard is missing or damaged" in html
    response = operator.post_form(f"/floor/submissions/{draft.id}/items/guards_in_place/explain",
                                  {"reason": "Rear guard bracket cracked", "action": "Locked out, called maintenance"}, htmx=True)
    assert response.status_code == 200 and "Rear guard bracket cracked" in response.get_data(as_text=True)
    saved = db.session.scalar(select(Answer).where(Answer.item_name == "guards_in_place"))
    assert (saved.reason, saved.action) == ("Rear guard bracket cracked", "Locked out, called maintenance")


def test_show_if_reveals_dependent_items_out_of_band(operator, users, start_draft):
    """Failing the oil-leak check reveals 'Where is the leak?' in the same response (hx-swap-oob)."""
    draft = start_draft(users.operator)
    html = answer(operator, draft, "oil_leaks", value="fail").get_data(as_text=True)
    assert 'id="item-leak_location" class="item item--unanswered" data-item="leak_location" hx-swap-oob="true"' in html
    html = answer(operator, draft, "oil_leaks", value="pass").get_data(as_text=True)
    assert 'id="item-leak_location" class="item-hidden" hidden hx-swap-oob="true"' in html


def test_hidden_item_takes_no_answer(operator, users, start_draft):
    """An item hidden by show_if refuses answers."""
    draft = start_draft(users.operator)
    assert answer(operator, draft, "leak_location", value="hose").status_code == 409


def test_progress_counts_required_answers(operator, users, start_draft):
    """The progress bar comes back out of band with answered / required."""
    draft = start_draft(users.operator)
    html = answer(operator, draft, "guards_in_place", value="pass").get_data(as_text=True)
    assert 'id="progress" class="progress" hx-swap-oob="true"' in html and "1 of 8 done" in html


def test_photo_is_stored_by_hash_without_exif(operator, users, start_draft, db, app):
    """A JPEG is stored by sha256; the derivative served has no EXIF."""
    draft = start_draft(users.operator)
    data = jpeg_with_exif()
    assert photo(operator, draft, data).status_code == 200
    stored = db.session.scalar(select(Attachment))
    assert stored.sha256 == sha256_hex(data)
    served = operator.get(f"/floor/photos/{stored.sha256}.jpg")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert b"SecretCam" in data and b"SecretCam" not in served.data
    assert not Image.open(io.BytesIO(served.data)).getexif()


@pytest.mark.parametrize("data,status", [(gif(), 422), (b"%PDF-1.4 not a photo", 422), (b"", 422)])
def test_photo_is_checked_by_content(operator, users, start_draft, db, data, status):
    """Only real JPEG or PNG bytes are accepted, whatever the file name says."""
    draft = start_draft(users.operator)
    response = photo(operator, draft, data, name="photo.jpg")
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert 'id="item-guard_photo"' in html and "Take photo" in html  # the item stays usable
    assert "JPEG or PNG" in html or "Take or choose a photo" in html
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_photo_size_limit(operator, users, start_draft, app, db):
    """A photo above the limit gets 413."""
    app.config["PHOTO_MAX_BYTES"] = 1000
    draft = start_draft(users.operator)
    assert photo(operator, draft, jpeg_with_exif((400, 400))).status_code == 413
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_submit_lists_what_is_missing(operator, users, start_draft, db):
    """An incomplete submit answers 422 with links to each missing item, and freezes nothing."""
    draft = start_draft(users.operator)
    answer(operator, draft, "hydraulic_pressure", value="171")
    response = operator.post_form(f"/floor/submissions/{draft.id}/submit", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'href="#item-guards_in_place"' in html and "needs a reason for the failure" in html
    assert db.session.scalar(select(func.count()).select_from(RecordVersion)) == 0


def test_submit_freezes_record_version_one(operator, users, start_draft, db):
    """A complete submit stores RecordVersion 1 whose sha256 is that of its canonical JSON."""
    draft = start_draft(users.operator)
    fill_passing(operator, draft)
    response = operator.post_form(f"/floor/submissions/{draft.id}/submit", htmx=True)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == f"/records/{draft.id}"
    version = db.session.scalar(select(RecordVersion))
    assert version.version == 1 and version.sha256 == sha256_hex(version.canonical_json)
    document = json.loads(version.canonical_json)
    assert canonical_json(document) == version.canonical_json
    pressure = next(i for i in document["items"] if i["item"] == "hydraulic_pressure")
    assert pressure["value"] == 150.2 and pressure["limits"]["lsl"] == 140 and pressure["verdict"]["state"] == "ok"
    assert document["station"] == "Press 1" and document["submitted_at"].endswith("+00:00")
    assert operator.get(f"/floor/submissions/{draft.id}").headers["Location"] == f"/records/{draft.id}"
    page = operator.get(f"/records/{draft.id}").get_data(as_text=True)
    assert version.sha256 in page and "Answers can no longer change" in page


@pytest.mark.parametrize("route", ["answer", "explain", "photo", "submit"])
def test_no_route_changes_a_submitted_record(operator, users, start_draft, db, route):
    """After submit every answer route is refused (409) and nothing changes."""
    draft = start_draft(users.operator)
    fill_passing(operator, draft)
    operator.post_form(f"/floor/submissions/{draft.id}/submit", htmx=True)
    before = [(a.item_name, a.value_json, a.reason) for a in db.session.scalars(select(Answer).order_by(Answer.id))]
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    response = {
        "answer": lambda: answer(operator, draft, "hydraulic_pressure", value="171"),
        "explain": lambda: operator.post_form(f"/floor/submissions/{draft.id}/items/guards_in_place/explain",
                                              {"reason": "x"}, htmx=True),
        "photo": lambda: photo(operator, draft, png((10, 10))),
        "submit": lambda: operator.post_form(f"/floor/submissions/{draft.id}/submit", htmx=True),
    }[route]()
    assert response.status_code == 409
    db.session.expire_all()
    after = [(a.item_name, a.value_json, a.reason) for a in db.session.scalars(select(Answer).order_by(Answer.id))]
    assert after == before
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
    assert db.session.scalar(select(func.count()).select_from(RecordVersion)) == 1


def test_plain_form_post_without_htmx_still_saves(operator, users, start_draft, db):
    """Progressive enhancement: a normal form post saves and returns to the item."""
    draft = start_draft(users.operator)
    response = answer(operator, draft, "guards_in_place", htmx=False, value="pass")
    assert response.status_code == 303 and response.headers["Location"].endswith("#item-guards_in_place")
    assert db.session.scalar(select(Answer.value_json)) == '"pass"'
