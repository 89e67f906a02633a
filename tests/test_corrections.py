"""Corrections: version n+1 with a reason; version n untouched; signatures superseded; history shown."""
import json

import pytest
from sqlalchemy import func, select

from app.models import AuditEvent, Deviation, RecordVersion
from app.services.records import signing
from tests.test_signing import as_user, sign  # noqa: F401  (fixture and helper)


def correct(client, record, item="hydraulic_pressure", reason="Gauge misread; re-read at 152.0 bar", **values):
    """Post the correction form."""
    return client.post_form(f"/records/{record.id}/correct/{item}", {"reason": reason, **(values or {"value": "152"})})


@pytest.fixture
def signed_record(as_user, users, make_record):
    """A press check signed 'Reviewed' by the inspector."""
    record = make_record(users.operator)
    assert sign(as_user(users.inspector), record).status_code == 303
    return record


def test_correction_makes_version_two_and_keeps_version_one(as_user, users, signed_record, db):
    """v2 holds the new value; v1's JSON and sha256 are byte-identical; the signature is superseded."""
    v1 = signed_record.versions[0]
    v1_json, v1_sha = v1.canonical_json, v1.sha256
    response = correct(as_user(users.supervisor), signed_record)
    assert response.status_code == 303
    db.session.expire_all()
    versions = db.session.scalars(select(RecordVersion).order_by(RecordVersion.version)).all()
    assert [v.version for v in versions] == [1, 2]
    assert (versions[0].canonical_json, versions[0].sha256) == (v1_json, v1_sha)
    doc = json.loads(versions[1].canonical_json)
    assert next(i for i in doc["items"] if i["item"] == "hydraulic_pressure")["value"] == 152.0
    assert doc["correction"]["changes"][0]["old"] == 150.0 and doc["correction"]["by"]["username"] == "t-supervisor"
    assert signed_record.status == "submitted" and signing.review_queue(users.inspector) == [signed_record]
    page = as_user(users.auditor).get(f"/records/{signed_record.id}").get_data(as_text=True)
    assert "superseded by version 2" in page and "Gauge misread" in page


def test_correction_is_in_the_audit_trail(as_user, users, signed_record, db):
    """Old value, new value, who, when and why are audited."""
    correct(as_user(users.supervisor), signed_record)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "record.corrected"))
    assert json.loads(event.before_json) == {"item": "hydraulic_pressure", "value": 150.0, "version": 1}
    assert json.loads(event.after_json)["value"] == 152.0 and event.reason.startswith("Gauge misread")
    assert event.actor_id == users.supervisor.id and event.at is not None


def test_stale_signature_after_correction(as_user, users, signed_record, db):
    """Signing with the hash of version 1 after the correction gets 409."""
    v1_sha = signed_record.versions[0].sha256
    correct(as_user(users.supervisor), signed_record)
    response = sign(as_user(users.inspector), signed_record, sha=v1_sha)
    assert response.status_code == 409


@pytest.mark.parametrize("fields,status", [({"reason": ""}, 422), ({"value": "150"}, 422), ({"value": "abc"}, 422)])
def test_bad_corrections_change_nothing(as_user, users, signed_record, db, fields, status):
    """No reason, the same value, or an invalid value: refused, and no version is added."""
    data = {"reason": "x", "value": "152"} | fields
    response = as_user(users.supervisor).post_form(f"/records/{signed_record.id}/correct/hydraulic_pressure", data)
    assert response.status_code == status
    assert db.session.scalar(select(func.count()).select_from(RecordVersion)) == 1


@pytest.mark.parametrize("role", ["operator", "auditor", "admin"])
def test_only_supervisors_and_inspectors_correct(as_user, users, signed_record, db, role):
    """Other roles get 403 and nothing changes."""
    assert correct(as_user(getattr(users, role)), signed_record).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(RecordVersion)) == 1


def test_correction_form_shows_the_item(as_user, users, signed_record):
    """The correction page shows the item's input with its current value and asks for a reason."""
    html = as_user(users.inspector).get(f"/records/{signed_record.id}/correct/hydraulic_pressure").get_data(as_text=True)
    assert 'value="150.0"' in html and "Reason for the correction" in html


def test_a_correction_that_makes_an_item_fail_raises_its_deviation(as_user, users, signed_record, db):
    """150 → 171 bar (spec 140–160): a deviation for the item, raised by the correction, naming the value,
    the spec, the corrector and the version; audited; on the record's PDF state. A second correction of
    the same item raises no second one."""
    assert correct(as_user(users.supervisor), signed_record, reason="Gauge re-read", value="171").status_code == 303
    raised = db.session.scalars(select(Deviation).where(Deviation.submission_id == signed_record.id)).all()
    assert [(d.item_name, d.source, d.status) for d in raised] == [("hydraulic_pressure", "correction", "open")]
    assert raised[0].what_happened.startswith("Hydraulic pressure 171.0 bar, spec 140")
    assert "corrected by T-Supervisor in version 2" in raised[0].what_happened
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "deviation.raised", AuditEvent.entity_id == str(raised[0].id))) == 1
    page = as_user(users.supervisor).get(f"/deviations/{raised[0].id}").get_data(as_text=True)
    assert "By a correction of the record" in page
    supervisor = as_user(users.supervisor)
    assert correct(supervisor, signed_record, reason="Back within spec", value="152").status_code == 303
    assert correct(supervisor, signed_record, reason="Re-read again", value="175").status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Deviation)) == 1  # the open one stands for it
    deviation = raised[0]
    deviation.status = "closed"
    db.session.commit()
    assert correct(supervisor, signed_record, reason="Back within spec", value="152").status_code == 303
    assert correct(supervisor, signed_record, reason="Failed again", value="176").status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Deviation)) == 2  # a closed one does not


def test_a_correction_within_spec_raises_nothing(as_user, users, signed_record, db):
    """150 → 152 bar stays in spec: no deviation."""
    assert correct(as_user(users.supervisor), signed_record).status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Deviation)) == 0
