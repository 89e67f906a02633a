"""The supervisor's deviation workflow over HTTP (each step audited, out of order refused), deviations on the record
and review pages and in the record PDF, the inbox, the search and the board's query."""
import io
import json
import re
from datetime import timedelta, timezone

import pytest
from pypdf import PdfReader
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import RenderedPdf, Signature
from app.models.types import frozen_clock
from app.services.quality import deviations
from app.services.records import pdf
from app.services.core.audit import Actor
from app.services.quality.deviations import DeviationQuery
from tests.helpers.deviations import AT, PRESSURE_171, events, failing_press_record, only_deviation, save


# ---- the supervisor's workflow ---------------------------------------------------------------

def test_supervisor_workflow_end_to_end(app, login, users, plant):
    """Acknowledge, decide (naming who decided), resolve, close: each step audited with before and after."""
    version = failing_press_record(app, plant, users.operator)
    deviation = only_deviation()
    supervisor, url = login(users.supervisor), f"/deviations/{deviation.id}"
    inbox = supervisor.get("/deviations").get_data(as_text=True)
    assert f"#{deviation.id} · {PRESSURE_171}" in inbox

    assert "Acknowledge</button>" in supervisor.get(url).get_data(as_text=True)
    assert supervisor.post_form(f"{url}/acknowledge").status_code == 303
    assert "Next step: decide" in supervisor.get(url).get_data(as_text=True)
    response = supervisor.post_form(f"{url}/decide", {
        "options_considered": "Re-set valve and re-check; move the job to Press 2",
        "constraints": "Customer shipment at 14:00", "decision": "hold", "decided_by": users.inspector.id,
        "decision_notes": "Hold the last 40 parts"})
    assert response.status_code == 303
    assert "Next step: resolve" in supervisor.get(url).get_data(as_text=True)
    assert supervisor.post_form(f"{url}/resolve", {"resolution": "Valve replaced, parts re-inspected"}).status_code == 303
    assert "Close deviation</button>" in supervisor.get(url).get_data(as_text=True)
    assert supervisor.post_form(f"{url}/close").status_code == 303

    db.session.expire_all()
    deviation = only_deviation()
    assert deviation.status == "closed" and deviation.decision == "hold"
    assert deviation.decided_by_id == users.inspector.id and deviation.acknowledged_by_id == users.supervisor.id
    assert (deviation.resolved_by_id, deviation.closed_by_id) == (users.supervisor.id, users.supervisor.id)
    trail = events(deviation)
    assert [e.action for e in trail] == ["deviation.raised", "deviation.cause_recorded", "deviation.acknowledged",
                                         "deviation.decided", "deviation.resolved", "deviation.closed"]
    steps = [(json.loads(e.before_json)["status"], json.loads(e.after_json)["status"]) for e in trail[2:]]
    assert steps == [("open", "acknowledged"), ("acknowledged", "acknowledged"), ("acknowledged", "resolved"),
                     ("resolved", "closed")]
    decided = json.loads(trail[3].after_json)
    assert decided["decided_by_id"] == users.inspector.id and decided["constraints"] == "Customer shipment at 14:00"
    assert all(e.actor_id == users.supervisor.id for e in trail[2:])

    page = supervisor.get(url).get_data(as_text=True)
    assert "Hold</strong>, decided by T-Inspector" in page and "Valve replaced, parts re-inspected" in page
    assert "Decision recorded</strong> by T-Supervisor" in page and "Close deviation" not in page
    assert version.submission_id in page


@pytest.mark.parametrize("prepare,step,data,message", [
    ([], "decide", {"options_considered": "x", "decision": "hold"}, "Acknowledge deviation #{n} before recording"),
    ([], "resolve", {"resolution": "x"}, "Acknowledge deviation #{n} and record the decision before resolving"),
    (["acknowledge"], "resolve", {"resolution": "x"}, "Record the decision on deviation #{n} before resolving"),
    (["acknowledge"], "close", {}, "Deviation #{n} is acknowledged; only a resolved deviation can be closed."),
    (["acknowledge"], "acknowledge", {}, "Deviation #{n} is already acknowledged"),
])
def test_steps_out_of_order_are_refused_with_409(login, users, start_draft, prepare, step, data, message):
    """Every step out of order: 409 with a message that says what comes first, and the deviation unchanged."""
    save(start_draft(users.operator), users.operator, "hydraulic_pressure", 171.0)
    deviation = only_deviation()
    supervisor = login(users.supervisor)
    for earlier in prepare:
        supervisor.post_form(f"/deviations/{deviation.id}/{earlier}")
    status_before, count_before = deviation.status, len(events(deviation))
    response = supervisor.post_form(f"/deviations/{deviation.id}/{step}", data)
    assert response.status_code == 409
    assert message.format(n=deviation.id) in response.get_data(as_text=True)
    db.session.expire_all()
    assert only_deviation().status == status_before and len(events(deviation)) == count_before


def test_decision_needs_its_fields_and_a_decider_who_may_decide(login, users, start_draft):
    """Missing options or decision, or an operator named as decider: 422 naming the field; nothing decided."""
    save(start_draft(users.operator), users.operator, "hydraulic_pressure", 171.0)
    deviation = only_deviation()
    supervisor = login(users.supervisor)
    supervisor.post_form(f"/deviations/{deviation.id}/acknowledge")
    empty = supervisor.post_form(f"/deviations/{deviation.id}/decide", {"constraints": "Night shift"})
    html = empty.get_data(as_text=True)
    assert empty.status_code == 422 and "List the options considered." in html and "Choose the decision." in html
    assert ">Night shift</textarea>" in html  # what was typed is kept
    wrong = supervisor.post_form(f"/deviations/{deviation.id}/decide", {
        "options_considered": "x", "decision": "scrap", "decided_by": users.operator.id})
    assert wrong.status_code == 422 and "must be an active supervisor or inspector" in wrong.get_data(as_text=True)
    db.session.expire_all()
    assert only_deviation().decision is None


def test_operator_cannot_decide_but_can_record_the_cause(login, users, start_draft):
    """An operator gets 403 on the supervisor's steps and may still add the cause."""
    save(start_draft(users.operator), users.operator, "hydraulic_pressure", 171.0)
    deviation = only_deviation()
    operator = login(users.operator)
    for step, data in [("acknowledge", {}), ("decide", {"options_considered": "x", "decision": "continue"}),
                       ("resolve", {"resolution": "x"}), ("close", {})]:
        assert operator.post_form(f"/deviations/{deviation.id}/{step}", data).status_code == 403
    page = operator.get(f"/deviations/{deviation.id}").get_data(as_text=True)
    assert "Save cause" in page and "Acknowledge</button>" not in page
    response = operator.post_form(f"/deviations/{deviation.id}/cause", {"cause_category": "Measurement",
                                                                          "cause": "Gauge P1 sticks"})
    assert response.status_code == 303
    db.session.expire_all()
    assert (only_deviation().cause_category, only_deviation().cause) == ("Measurement", "Gauge P1 sticks")


def _decided(app, users, plant, decided_by):
    version = failing_press_record(app, plant, users.operator)
    deviation = only_deviation()
    supervisor = Actor(users.supervisor.id)
    deviations.acknowledge(deviation, supervisor)
    with frozen_clock(AT + timedelta(hours=1)):
        deviations.decide(deviation, "Re-set valve; move the job to Press 2", "Shipment at 14:00", "quarantine",
                          decided_by, "Quarantine the shift's parts", supervisor)
    return version, deviation


def test_record_and_review_pages_show_the_deviation_and_mark_the_item(app, login, users, plant):
    """Statement, cause, action, options, constraints, decision with who decided; the item links to it."""
    version, deviation = _decided(app, users, plant, users.inspector)
    expected = [PRESSURE_171, "Machine / equipment — Relief valve drifted after warm-up",
                "Maintenance re-set the relief valve", "Re-set valve; move the job to Press 2", "Shipment at 14:00",
                "Quarantine</strong>, decided by T-Inspector, 2026-11-20 07:42 CST (UTC-06:00)",
                f'<a href="#deviation-{deviation.id}">⚠ Deviation #{deviation.id} (Acknowledged)']
    for url in (f"/records/{version.submission_id}", f"/review/{version.submission_id}"):
        html = login(users.supervisor).get(url).get_data(as_text=True)
        missing = [words for words in expected if words not in html]
        assert not missing, (url, missing)


def test_record_pdf_prints_the_decision_and_who_decided_and_is_never_stale(app, users, plant):
    """The PDF (read back with pypdf) prints the deviation with its decision; a later step gives a new stored PDF."""
    version = failing_press_record(app, plant, users.operator)
    db.session.add(Signature(record_version_id=version.id, content_sha256=version.sha256, signer_id=users.inspector.id,
                             printed_name=users.inspector.printed_name, role="inspector", meaning="Reviewed",
                             statement="Reviewed.", signed_at=AT + timedelta(hours=2), auth_method="password re-entered"))
    db.session.commit()
    before = pdf.pdf_for(version, "Alex Chen (auditor1)", "https://floorbook.test")
    assert before.stored and "Decision:" not in _text(before.read_bytes())

    deviation = only_deviation()
    deviations.acknowledge(deviation, Actor(users.supervisor.id))
    with frozen_clock(AT + timedelta(hours=3)):
        deviations.decide(deviation, "Re-set valve; run on Press 2", "Shipment at 14:00", "stop_line", users.supervisor,
                          None, Actor(users.supervisor.id))
    after = pdf.pdf_for(version, "Alex Chen (auditor1)", "https://floorbook.test")
    text = _text(after.read_bytes())
    assert after.stored and after.sha256 != before.sha256
    for words in [f"Deviation #{deviation.id} · Acknowledged · item: Hydraulic pressure", f"What happened: {PRESSURE_171}",
                  "Cause: Machine / equipment — Relief valve drifted after warm-up",
                  "Immediate action: Maintenance re-set the relief valve",
                  "Options considered: Re-set valve; run on Press 2", "Constraints: Shipment at 14:00",
                  "Decision: Stop line · decided by T-Supervisor, 2026-11-20 09:42 CST (UTC-06:00)",
                  f"sha256 {version.sha256}"]:
        assert words in text, words
    assert db.session.scalar(select(func.count()).select_from(RenderedPdf)) == 2


def _text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages)


# ---- inbox, search and the board's query ---------------------------------------------------

@pytest.fixture
def four(users, plant):
    """Deviations raised by hand over four days: #1 Press 1 open, #2 Weld 1 acknowledged, #3 Press 3 resolved
    (decided: rework), #4 Press 1 closed (decided: scrap)."""
    supervisor, made = Actor(users.supervisor.id), []
    places = [("Press 1", "Oil mist at the press"), ("Weld 1", "Spatter on fixture"), ("Press 3", "Burr on flange"),
              ("Press 1", "Cracked coil edge")]
    for day, (station, words) in enumerate(places):
        with frozen_clock(AT + timedelta(days=day)):
            made.append(deviations.raise_manual(plant.stations[station], words, None, f"cause {day}", None,
                                                Actor(users.operator.id)))
    for deviation, decision in ((made[1], None), (made[2], "rework"), (made[3], "scrap")):
        deviations.acknowledge(deviation, supervisor)
        if decision:
            deviations.decide(deviation, "options", None, decision, users.supervisor, None, supervisor)
            deviations.resolve(deviation, f"resolved by {decision}", supervisor)
    deviations.close(made[3], supervisor)
    return made


def test_inbox_lists_open_then_acknowledged_then_resolved_oldest_first(four, users, plant):
    """Closed ones are left out; within a status the oldest comes first."""
    with frozen_clock(AT + timedelta(days=5)):
        newer_open = deviations.raise_manual(plant.stations["Pack 1"], "Pallet wrap torn", None, None, None,
                                             Actor(users.operator.id))
    assert [d.id for d in deviations.inbox()] == [four[0].id, newer_open.id, four[1].id, four[2].id]


@pytest.mark.parametrize("filters,expected", [
    ({}, [3, 2, 1, 0]),
    ({"status": "open"}, [0]),
    ({"status": "closed"}, [3]),
    ({"station": "Press 1"}, [3, 0]),
    ({"line": "Line 2"}, [2]),
    ({"decision": "rework"}, [2]),
    ({"date_from": 1, "date_to": 2}, [2, 1]),
    ({"q": "FIXTURE"}, [1]),
    ({"q": "cause 2"}, [2]),
    ({"q": "resolved by scrap"}, [3]),
    ({"q": "#number"}, [1]),
])
def test_search_filters(four, plant, filters, expected):
    """Each filter narrows the results; newest raised first."""
    values = dict(filters)
    if "station" in values:
        values["station"] = plant.stations[values["station"]].id
    if "line" in values:
        values["line"] = plant.stations["Press 3"].line_id
    for key in ("date_from", "date_to"):
        if key in values:  # local days of the plant, counted from the first deviation's day
            values[key] = (AT + timedelta(days=values[key])).astimezone(timezone(timedelta(hours=-6))).date()
    if values.get("q") == "#number":
        values["q"] = f"#{four[1].id}"
    result = deviations.search(DeviationQuery(**values))
    assert [d.id for d in result.items] == [four[i].id for i in expected] and result.total == len(expected)


def test_search_page_keeps_filters_in_the_query_string(four, login, users, plant):
    """GET /deviations?… is bookmarkable; htmx gets the results alone; bad filters say what is wrong."""
    auditor = login(users.auditor)
    station = plant.stations["Press 1"].id
    page = auditor.get(f"/deviations?status=open&station={station}").get_data(as_text=True)
    assert "1 deviation · showing 1–1" in page and "Oil mist at the press" in page and "Cracked coil edge" not in page
    assert f'<option value="{station}" selected>' in page and 'id="inbox-heading"' not in page  # auditors only search
    partial = auditor.get("/deviations?q=burr", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert partial.lstrip().startswith('<section id="deviation-results"') and "Burr on flange" in partial
    bad = auditor.get("/deviations?date_from=2026-11-22&date_to=2026-11-20&status=lost")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "The end date is before the start date" in html and "Status is one of" in html


def test_navigation_counts_open_deviations_for_those_who_act(four, login, users):
    """Supervisors and inspectors see how many are open or acknowledged; operators see no Deviations link."""
    nav = login(users.supervisor).get("/review").get_data(as_text=True)
    assert re.search(r'Deviations <span class="badge-count" aria-label="2 open">2</span>', nav)
    assert ">Deviations<" not in login(users.operator).get("/floor/stations").get_data(as_text=True)


def test_open_by_station_is_one_query(four, app):
    """The board's query: open and acknowledged deviations by station, in a single statement."""
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        found = deviations.open_by_station()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len([sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]) == 1
    assert {station: [d.id for d in found[station]] for station in found} == \
        {four[0].station_id: [four[0].id], four[1].station_id: [four[1].id]}
