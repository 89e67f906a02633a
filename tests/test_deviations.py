"""Deviations raised at once by failing answers (raised, updated, closed by a corrected answer), explained on the spot,
or raised by hand from a station."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import BoardEvent, Deviation
from app.models.types import frozen_clock
from app.services.floor import submissions
from app.services.quality import deviations
from app.services.core.audit import Actor
from tests.helpers.deviations import AT, PRESS, PRESSURE_171, events, only_deviation, save


@pytest.fixture
def operator(login, users, plant):
    """The operator, signed in on a tablet session."""
    return login(users.operator, tablet=True)


# ---- raised by answers ---------------------------------------------------------------------

def test_out_of_spec_number_raises_a_deviation_at_once(operator, users, start_draft):
    """The save that fails writes the deviation, its audit event and a board event, and the prompt says so."""
    draft = start_draft(users.operator)
    with frozen_clock(AT):
        response = operator.post_form(f"/floor/submissions/{draft.id}/items/hydraulic_pressure", {"value": "171"},
                                      htmx=True)
    assert response.status_code == 200
    deviation = only_deviation()
    assert (deviation.source, deviation.status, deviation.what_happened) == ("answer", "open", PRESSURE_171)
    assert (deviation.submission_id, deviation.item_name) == (draft.id, "hydraulic_pressure")
    assert deviation.station_id == draft.station_id and deviation.raised_by_id == users.operator.id
    assert deviation.raised_at == AT
    [raised] = events(deviation)
    assert raised.action == "deviation.raised" and raised.actor_id == users.operator.id
    assert json.loads(raised.after_json)["what_happened"] == PRESSURE_171
    board = db.session.scalars(select(BoardEvent).where(BoardEvent.kind == "deviation")).all()
    assert [b.station_id for b in board] == [draft.station_id]
    html = response.get_data(as_text=True)
    assert f"Deviation #{deviation.id} raised 06:42" in html and '<select id="cat-hydraulic_pressure"' in html


@pytest.mark.parametrize("form_id,station,item,value,statement", [
    (PRESS, "Press 1", "oil_leaks", "fail", "No oil leaks at the cylinder, hoses or fittings: Fail"),
    ("torque-audit", "Weld 1", "joint_marking", "some_missing",
     "Torque stripe applied on every checked joint: Some marks missing (failing option)"),
    ("forklift-pre-use", "Pack 1", "visible_damage", ["forks", "tyres"],
     "Defects found on the walk-around: Forks bent, cracked or worn at the heel, Tyres damaged or worn to the wear line "
     "(failing options)"),
    ("torque-audit", "Weld 1", "bracket_bolt_torque", [50.1, 47.0, 56.2, 49.9, 44.0],
     "Bracket bolts M10 (residual torque) reading 3: 56.2 N·m, reading 5: 44.0 N·m, spec 45–55 N·m"),
])
def test_failing_check_choice_and_readings_raise_with_what_failed(users, start_draft, form_id, station, item, value,
                                                                  statement):
    """A failed check, a failing option and failing readings each raise a deviation naming what failed."""
    draft = start_draft(users.operator, form_id, station)
    with frozen_clock(AT):
        save(draft, users.operator, item, value)
    assert only_deviation().what_happened == f"{statement}, {station}, T-Operator, 06:42 CST"


def test_warning_and_passing_answers_raise_nothing(users, start_draft):
    """A value in the warning band is not a deviation; neither is a pass."""
    draft = start_draft(users.operator)
    assert save(draft, users.operator, "hydraulic_pressure", 158.0).verdict.state == "warn"
    save(draft, users.operator, "oil_leaks", "pass")
    assert db.session.scalar(select(func.count()).select_from(Deviation)) == 0


def test_changed_failing_value_updates_the_open_deviation(users, start_draft):
    """A new failing value rewrites the statement of the same deviation, audited with before and after."""
    draft = start_draft(users.operator)
    with frozen_clock(AT):
        save(draft, users.operator, "hydraulic_pressure", 171.0)
    with frozen_clock(AT + timedelta(minutes=3)):
        save(draft, users.operator, "hydraulic_pressure", 138.5)
    deviation = only_deviation()
    assert deviation.what_happened == "Hydraulic pressure 138.5 bar, spec 140–160 bar, Press 1, T-Operator, 06:45 CST"
    raised, updated = events(deviation)
    assert updated.action == "deviation.updated"
    assert json.loads(updated.before_json)["what_happened"] == PRESSURE_171
    assert json.loads(updated.after_json)["what_happened"] == deviation.what_happened


def test_answer_corrected_to_pass_in_draft_closes_the_deviation(users, start_draft):
    """Back within spec before submission: closed with the reason, kept; failing again raises a new one."""
    draft = start_draft(users.operator)
    save(draft, users.operator, "hydraulic_pressure", 171.0)
    save(draft, users.operator, "hydraulic_pressure", 150.0)
    deviation = only_deviation()
    assert deviation.status == "closed" and deviation.closed_by_id == users.operator.id
    assert deviation.resolution == "Answer changed to 150.0 bar (within spec) before submission"
    closed = events(deviation)[-1]
    assert closed.action == "deviation.closed"
    assert (json.loads(closed.before_json)["status"], json.loads(closed.after_json)["status"]) == ("open", "closed")
    save(draft, users.operator, "hydraulic_pressure", 175.0)
    statuses = db.session.scalars(select(Deviation.status).order_by(Deviation.id)).all()
    assert statuses == ["closed", "open"]


def test_acknowledged_deviation_stays_for_the_supervisor_when_the_answer_passes(users, start_draft):
    """Once a supervisor owns it, a later passing answer does not close it behind their back."""
    draft = start_draft(users.operator)
    save(draft, users.operator, "hydraulic_pressure", 171.0)
    deviations.acknowledge(only_deviation(), Actor(users.supervisor.id))
    save(draft, users.operator, "hydraulic_pressure", 150.0)
    assert only_deviation().status == "acknowledged"


def test_hidden_item_closes_its_deviation(users, start_draft):
    """An item that show_if hides again no longer counts: its open deviation closes with that reason."""
    draft = start_draft(users.operator, "lockout-tagout")
    save(draft, users.operator, "energy_sources", ["hydraulic"])
    save(draft, users.operator, "residual_pressure", 3.0)
    assert only_deviation().status == "open"
    save(draft, users.operator, "energy_sources", ["electrical"])
    deviation = only_deviation()
    assert deviation.status == "closed"
    assert deviation.resolution == "Item no longer asked (its condition is not met) before submission"


def test_on_the_spot_prompt_records_the_cause(operator, users, start_draft):
    """The explain prompt stores category, cause and immediate action on the deviation and the answer alike."""
    draft = start_draft(users.operator)
    operator.post_form(f"/floor/submissions/{draft.id}/items/hydraulic_pressure", {"value": "171"}, htmx=True)
    response = operator.post_form(f"/floor/submissions/{draft.id}/items/hydraulic_pressure/explain", {
        "cause_category": "Machine / equipment", "reason": "Relief valve drifted", "action": "Valve re-set"}, htmx=True)
    assert response.status_code == 200
    deviation = only_deviation()
    assert (deviation.cause_category, deviation.cause, deviation.immediate_action) == \
        ("Machine / equipment", "Relief valve drifted", "Valve re-set")
    answer = submissions.answers_by_item(draft)["hydraulic_pressure"]
    assert (answer.reason, answer.action) == ("Relief valve drifted", "Valve re-set")
    recorded = events(deviation)[-1]
    assert recorded.action == "deviation.cause_recorded"
    assert json.loads(recorded.after_json)["cause_category"] == "Machine / equipment"
    assert '<option value="Machine / equipment" selected>' in response.get_data(as_text=True)


def test_prompt_refuses_an_unknown_cause_category(operator, users, start_draft):
    """A category outside the configured list is refused and nothing is stored."""
    draft = start_draft(users.operator)
    operator.post_form(f"/floor/submissions/{draft.id}/items/hydraulic_pressure", {"value": "171"}, htmx=True)
    response = operator.post_form(f"/floor/submissions/{draft.id}/items/hydraulic_pressure/explain", {
        "cause_category": "Gremlins", "reason": "Relief valve drifted"}, htmx=True)
    assert response.status_code == 422 and "not a cause category" in response.get_data(as_text=True)
    db.session.expire_all()
    assert only_deviation().cause is None
    assert submissions.answers_by_item(draft)["hydraulic_pressure"].reason is None


# ---- raised by hand --------------------------------------------------------------------------

def test_operator_raises_a_deviation_by_hand_from_the_station(operator, users, plant, db):
    """Report a problem: the form, then a manual deviation with its cause, audited and on the board."""
    press = plant.stations["Press 1"]
    operator.post_form("/floor/station", {"station_id": press.id})
    home = operator.get("/floor").get_data(as_text=True)
    assert f'href="/deviations/new?station_id={press.id}">Report a problem</a>' in home
    page = operator.get(f"/deviations/new?station_id={press.id}").get_data(as_text=True)
    for label in ('for="what_happened">What happened?', 'for="cause_category">Cause category', 'for="immediate_action"'):
        assert label in page
    response = operator.post_form("/deviations", {
        "station_id": press.id, "what_happened": "Coil edge cracked, 3 parts set aside", "cause_category": "Material",
        "cause": "Supplier coil batch 4471", "immediate_action": "Parts tagged and quarantined"})
    deviation = only_deviation()
    assert response.status_code == 303 and response.headers["Location"] == f"/deviations/{deviation.id}"
    assert (deviation.source, deviation.status, deviation.station_id, deviation.submission_id) == \
        ("manual", "open", press.id, None)
    assert (deviation.what_happened, deviation.cause_category, deviation.immediate_action) == \
        ("Coil edge cracked, 3 parts set aside", "Material", "Parts tagged and quarantined")
    assert [e.action for e in events(deviation)] == ["deviation.raised"]
    assert db.session.scalar(select(BoardEvent.station_id).where(BoardEvent.kind == "deviation")) == press.id
    assert f"#{deviation.id} Coil edge cracked" in operator.get("/floor").get_data(as_text=True)


def test_manual_raise_needs_what_happened(operator, plant):
    """Without a description: 422, the form again with the reason, nothing raised."""
    response = operator.post_form("/deviations", {"station_id": plant.stations["Press 1"].id, "cause": "No idea"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Say what happened." in html and ">No idea</textarea>" in html
    assert db.session.scalar(select(func.count()).select_from(Deviation)) == 0
