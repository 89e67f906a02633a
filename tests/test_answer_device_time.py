"""Answers the outbox sends later carry the tablet's time through the one checked device-time field."""
import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.models import Answer, AuditEvent
from app.models.types import frozen_clock
from tests.helpers.photos import jpeg_with_exif
from tests.helpers.outbox import tablet_token
from tests.test_idempotency import new_key, outbox_post

NOW = datetime(2026, 11, 24, 21, 0, tzinfo=timezone.utc)
KEPT = "2026-11-24T14:40:00-06:00"  # 20 minutes before NOW, by a tablet in Chicago
KEPT_UTC = datetime(2026, 11, 24, 20, 40, tzinfo=timezone.utc)


def kept_answer(app, users, tablet, draft, item: str, fields: dict):
    """POST one answer as the outbox replays it (outbox token, no session), at NOW."""
    with frozen_clock(NOW):
        token = tablet_token(users.operator, tablet)
        url = f"/floor/submissions/{draft.id}/items/{item}" + ("/photo" if item == "guard_photo" else "")
        return outbox_post(app, url, token, new_key(), fields)


def saved_event(db, item: str) -> dict:
    """The after of the item's answer.saved audit event."""
    events = [json.loads(a) for a in db.session.scalars(
        select(AuditEvent.after_json).where(AuditEvent.action == "answer.saved"))]
    return next(e for e in events if e["item"] == item)


FORKLIFT, FAI = ("forklift-pre-use", "Pack 1"), ("first-article-inspection", "Press 1")


@pytest.mark.parametrize("form,item,fields", [
    (None, "hydraulic_pressure", {"value": "151"}),
    (None, "oil_leaks", {"value": "pass"}),
    (None, "guard_photo", {"photo": "jpeg"}),
    (FAI, "overall_length", {"sample_0": "120.01", "sample_1": "119.99", "sample_2": "120.00"}),
    (FAI, "inspection_reason", {"value": "die_change"}),
    (FORKLIFT, "visible_damage", {"value": ["none"]}),
    (FORKLIFT, "truck_number", {"value": "FL-07"}),
    (FORKLIFT, "last_service_date", {"value": "2026-11-02"}),
    (FORKLIFT, "check_time", {"value": "14:35"}),
    (FORKLIFT, "fit_to_drive", {"value": "yes"}),
], ids=lambda v: v if isinstance(v, str) else None)
def test_an_answer_kept_offline_keeps_the_tablets_time(app, users, start_draft, db, form, item, fields, tablet):
    """Every answer kind (number and series, check, choice, multi, text, date, time, acknowledge, photo) sent
    by the outbox stores and audits the tablet's time of the answer."""
    draft = start_draft(users.operator, *form) if form else start_draft(users.operator)
    if fields.get("photo") == "jpeg":
        fields = {"photo": (io.BytesIO(jpeg_with_exif((320, 240))), "guard.jpg")}
    response = kept_answer(app, users, tablet, draft, item, fields | {"device_time": KEPT})
    assert response.status_code == 200
    answer = db.session.scalar(select(Answer).where(Answer.item_name == item))
    assert answer.device_time == KEPT_UTC.isoformat()
    assert saved_event(db, item)["device_time"] == KEPT_UTC.isoformat()


def test_a_tablet_clock_ahead_of_the_server_is_clamped(app, users, start_draft, db, tablet):
    """A device_time later than the server's clock is not believed: the server's time is kept instead."""
    draft = start_draft(users.operator)
    ahead = (NOW + timedelta(minutes=5)).isoformat()
    assert kept_answer(app, users, tablet, draft, "hydraulic_pressure", {"value": "151", "device_time": ahead}).status_code == 200
    assert db.session.scalar(select(Answer.device_time)) == NOW.isoformat()


@pytest.mark.parametrize("item,fields", [("hydraulic_pressure", {"value": "151"}), ("guard_photo", {})])
@pytest.mark.parametrize("sent,message", [("yesterday", "Expected an ISO 8601 time"),
                                          ("2026-11-24T12:00:00", "Expected a time with its time zone")])
def test_a_malformed_device_time_is_refused_naming_the_field(app, users, start_draft, db, item, fields, sent, message, tablet):
    """device_time must be an ISO 8601 time with its zone: 422 naming the field, no answer stored."""
    draft = start_draft(users.operator)
    if item == "guard_photo":
        fields = {"photo": (io.BytesIO(jpeg_with_exif((320, 240))), "guard.jpg")}
    response = kept_answer(app, users, tablet, draft, item, fields | {"device_time": sent})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "device_time" in body and message in body
    assert db.session.scalar(select(Answer)) is None


def test_an_answer_sent_live_is_dated_by_the_server_only(login, users, plant, start_draft, db, tablet):
    """device_time on an answer sent with the session (not kept offline) is not stored or audited."""
    client = login(users.operator, tablet=True)
    draft = start_draft(users.operator)
    response = client.post_form(f"/floor/submissions/{draft.id}/items/hydraulic_pressure",
                                {"value": "151", "device_time": KEPT}, htmx=True)
    assert response.status_code == 200
    assert db.session.scalar(select(Answer.device_time)) is None
    assert "device_time" not in saved_event(db, "hydraulic_pressure")


def test_explaining_an_answer_kept_offline_keeps_its_time(app, users, start_draft, db, tablet):
    """The reason for a failed answer sent later does not wipe the time the answer was made."""
    draft = start_draft(users.operator)
    assert kept_answer(app, users, tablet, draft, "hydraulic_pressure", {"value": "171", "device_time": KEPT}).status_code == 200
    with frozen_clock(NOW):
        token = tablet_token(users.operator, tablet)
        response = outbox_post(app, f"/floor/submissions/{draft.id}/items/hydraulic_pressure/explain", token,
                               new_key(), {"reason": "Valve drifted", "action": "Re-set", "device_time": KEPT})
    assert response.status_code == 200
    assert db.session.scalar(select(Answer.device_time)) == KEPT_UTC.isoformat()


def test_a_reason_with_a_malformed_device_time_is_refused(app, users, start_draft, db, tablet):
    """The reason form takes device_time through the same checked field: 422 naming it, nothing explained."""
    draft = start_draft(users.operator)
    assert kept_answer(app, users, tablet, draft, "hydraulic_pressure", {"value": "171", "device_time": KEPT}).status_code == 200
    with frozen_clock(NOW):
        token = tablet_token(users.operator, tablet)
        response = outbox_post(app, f"/floor/submissions/{draft.id}/items/hydraulic_pressure/explain", token,
                               new_key(), {"reason": "Valve drifted", "device_time": "yesterday"})
    assert response.status_code == 422 and "device_time" in response.get_data(as_text=True)
    assert db.session.scalar(select(Answer.reason)) is None
