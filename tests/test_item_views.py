"""The snapshot of a request's items: built once from a draft, a blank form or a frozen record, without HTTP."""
import json
import uuid

import pytest

from app.services.floor import attachments, evaluation, submissions

from app.services.quality import deviations

from app.services.records import item_views
from app.services.core.audit import Actor
from app.services.records.record_document import RecordDocument
from tests.helpers.photos import png

PRESS = "press-start-of-shift"


@pytest.fixture
def draft(plant, users):
    """A press check draft with the oil leak failing (so its show_if item appears) and the pressure in spec."""
    actor = Actor(users.operator.id)
    sub = submissions.start_submission(str(uuid.uuid4()), plant.forms[PRESS].id, plant.stations["Press 1"].id, actor)
    for name, value in {"guards_in_place": "pass", "two_hand_control": "na", "oil_leaks": "fail",
                        "hydraulic_pressure": 150.0}.items():
        submissions.save_answer(sub, name, {}, actor, value=value, parsed=True)
    return sub


def counting(monkeypatch) -> list:
    """Count the calls of evaluation.visible_names from here on."""
    calls, real = [], evaluation.visible_names

    def spy(definition, values):
        calls.append(dict(values))
        return real(definition, values)
    monkeypatch.setattr(evaluation, "visible_names", spy)
    return calls


def test_a_draft_snapshot_applies_show_if_once_and_carries_each_answer(draft, users, monkeypatch):
    """One show_if pass for the whole form; values, verdicts, who answered and the deviation are in the views."""
    calls = counting(monkeypatch)
    snapshot = item_views.from_draft(draft)
    assert len(calls) == 1
    oil, leak, pressure = snapshot.get("oil_leaks"), snapshot.get("leak_location"), snapshot.get("hydraulic_pressure")
    assert (oil.value, oil.verdict.state, oil.state, oil.answered) == ("fail", "fail", "fail", True)
    assert oil.answered_by == item_views.Person("t-operator", "T-Operator") and oil.answered_at is not None
    assert leak.visible and not leak.answered and leak.verdict.state == "unanswered"
    assert pressure.verdict.summary == "150.0 bar, within 140–160 bar"
    assert snapshot.get("light_curtain").value is None
    assert dict(snapshot.values) == {"guards_in_place": "pass", "two_hand_control": "na", "oil_leaks": "fail",
                                     "hydraulic_pressure": 150.0}
    raised = deviations.item_deviation(draft.id, "oil_leaks")
    assert oil.active_deviation.id == raised.id and snapshot.get("guards_in_place").deviations == ()
    assert [s.name for s in snapshot.sections] == ["safeguarding", "hydraulics"]


def test_a_passing_draft_does_not_look_up_deviations(plant, users, monkeypatch):
    """Nothing fails: the snapshot never asks for the record's deviations."""
    actor = Actor(users.operator.id)
    sub = submissions.start_submission(str(uuid.uuid4()), plant.forms[PRESS].id, plant.stations["Press 1"].id, actor)
    submissions.save_answer(sub, "oil_leaks", {}, actor, value="pass", parsed=True)
    monkeypatch.setattr(deviations, "for_submission", lambda *_: pytest.fail("deviations looked up"))
    snapshot = item_views.from_draft(sub)
    assert not snapshot.get("leak_location").visible and snapshot.get("oil_leaks").state == "ok"


def test_a_blank_snapshot_marks_every_required_item(plant):
    """A form not started: nothing answered; every required item (the guard photo too) says so, instructions never."""
    snapshot = item_views.from_blank(plant.forms[PRESS].definition)
    assert all(not v.answered and v.value is None for v in snapshot.items)
    required = {v.name for v in snapshot.items if v.required}
    assert {"guard_photo", "guards_in_place", "hydraulic_pressure"} <= required
    assert "before_you_start" not in required and not snapshot.get("leak_location").visible


def test_a_stored_photo_counts_as_done_but_its_stored_verdict_stays_info(app, draft, users):
    """The view says ok (✓) for a stored photo; the frozen record keeps the verdict state "info"."""
    photo = attachments.store_photo(png(), 10 << 20, users.operator.id)
    submissions.add_photo(draft, "guard_photo", photo.sha256, Actor(users.operator.id))
    view = item_views.from_draft(draft).get("guard_photo")
    assert (view.verdict.state, view.state) == ("info", "ok")


def test_a_record_snapshot_reads_the_frozen_document(make_record, users, plant, monkeypatch):
    """Values, verdicts and people come from the document; its frozen limits win over the definition's."""
    record = make_record(users.operator)
    version = record.versions[-1]
    doc = json.loads(version.canonical_json)
    pressure = next(i for i in doc["items"] if i["item"] == "hydraulic_pressure")
    pressure["limits"]["usl"] = 155.0  # as if the limit had been 155 when the record was made
    calls = counting(monkeypatch)
    snapshot = item_views.from_document(RecordDocument.from_dict(doc), record.form_version.definition,
                                        changed={"hydraulic_pressure": 2})
    assert calls == []  # the document says what was visible
    view = snapshot.get("hydraulic_pressure")
    assert view.item["usl"] == 155.0 and view.value == pressure["value"] and view.changed_in == 2
    assert view.verdict.state == pressure["verdict"]["state"] and view.answered_by.printed_name == "T-Operator"
    assert snapshot.get("leak_location").state == "hidden" and not snapshot.get("guard_photo").correctable
    assert dict(snapshot.values) == {i["item"]: i["value"] for i in doc["items"] if i["visible"] and i["value"] is not None}

