"""The frozen record is typed, and today's records keep their bytes: golden canonical JSON and sha256 of varied
records made before RecordDocument existed (tests/fixtures/records/) round-trip and are rebuilt byte for byte."""
import json
from dataclasses import FrozenInstanceError

import pytest
from sqlalchemy import select

from app.canonical import sha256_hex
from app.extensions import db
from app.models import RecordVersion, Submission
from app.models.submission import SUBMITTED
from app.services.records import corrections, exports, versions
from app.services.core.audit import Actor
from app.services.records.record_document import Correction, DocumentItem, Person, RecordDocument
from app.services.records.verify import verify_sha256
from tests.helpers.golden import (CORRECTED_AT, CORRECTION, IDS, build_draft, fixture_sha256, fixture_text,
                                  golden_setup)

VERSIONS = ("check-pass", "series-fail", "hidden-photo", "hidden-photo-v2")


@pytest.fixture
def golden(app, plant, users, tablet):
    """The golden forms published, the site pinned, and a tablet for the record made on one."""
    return golden_setup(plant, users, tablet)


@pytest.mark.parametrize("name", VERSIONS)
def test_fixture_round_trips_byte_for_byte(name):
    """Parsing a golden record and spelling it again gives the same bytes and the same sha256."""
    text = fixture_text(name)
    assert sha256_hex(text) == fixture_sha256(name)
    document = RecordDocument.from_json(text)
    assert document.canonical_json() == text
    assert document.sha256 == fixture_sha256(name)
    assert RecordDocument.from_dict(json.loads(text)).to_dict() == json.loads(text)


def test_fixtures_cover_what_records_hold():
    """The golden set is varied: warn/fail series, failing choices, N/A, hidden stale answers, photo, correction."""
    docs = {name: RecordDocument.from_json(fixture_text(name)) for name in VERSIONS}
    states = {(i.type, i.state) for d in docs.values() for i in d.items}
    assert {("check", "na"), ("number", "warn"), ("number", "fail"), ("multi", "fail"), ("choice", "fail"),
            ("photo", "info"), ("date", "info"), ("time", "info"), ("acknowledge", "ok"),
            ("instruction", "info"), ("text", "unanswered")} <= states
    series = docs["series-fail"].item("torque").verdict
    assert [r.state for r in series.readings] == ["ok", "warn", "fail"]
    hidden = docs["hidden-photo"].item("leak_where")
    assert (hidden.visible, hidden.value, hidden.answered_by) == (False, None, Person("t-operator", "T-Operator"))
    assert docs["series-fail"].device == "Press 1 tablet" and docs["check-pass"].correction is None
    assert docs["hidden-photo-v2"].correction.changes[0].old == 150.0


def test_summary_is_computed_from_the_verdicts():
    """The summary is a property of the items, and the stored summary agrees with it."""
    for name in VERSIONS:
        stored = json.loads(fixture_text(name))["summary"]
        assert RecordDocument.from_json(fixture_text(name)).summary == stored
    assert RecordDocument.from_json(fixture_text("series-fail")).summary == {"ok": 1, "warn": 1, "fail": 5, "na": 0}


def test_documents_are_frozen():
    """A record version cannot be changed in place; a correction makes a new document."""
    document = RecordDocument.from_json(fixture_text("check-pass"))
    with pytest.raises(FrozenInstanceError):
        document.version = 2
    with pytest.raises(FrozenInstanceError):
        document.items[0].value = "fail"
    assert isinstance(document.items, tuple) and all(isinstance(i, DocumentItem) for i in document.items)


@pytest.mark.parametrize("name", ("check-pass", "series-fail", "hidden-photo"))
def test_the_same_draft_freezes_to_the_golden_bytes(golden, name):
    """Built from the same draft (same ids, people, clock), from_draft gives today's bytes and hash."""
    draft = build_draft(golden, name)
    document = RecordDocument.from_draft(draft, 1, golden.site)
    assert document.canonical_json() == fixture_text(name)
    assert document.sha256 == fixture_sha256(name)


def test_correction_gives_the_golden_version_two(golden, users, monkeypatch):
    """with_correction on the golden version 1, and the whole correction service, give the golden version 2."""
    draft = build_draft(golden, "hidden-photo")
    v1 = RecordDocument.from_json(fixture_text("hidden-photo"))
    value = 161.5
    v2 = v1.with_correction(draft.form_version.definition, CORRECTION["item"], value, CORRECTION["reason"],
                            users.supervisor, CORRECTED_AT)
    assert (v2.canonical_json(), v2.sha256) == (fixture_text("hidden-photo-v2"), fixture_sha256("hidden-photo-v2"))
    assert v2.correction == Correction.from_dict(json.loads(fixture_text("hidden-photo-v2"))["correction"])
    assert v1.version == 1 and v1.item("pressure").value == 150.0  # version 1 is untouched

    versions.add_version(draft, RecordDocument.from_draft(draft, 1, golden.site), Actor(users.operator.id))
    db.session.commit()
    monkeypatch.setattr(corrections, "utcnow", lambda: CORRECTED_AT)
    stored = corrections.correct_record(draft, CORRECTION["item"], CORRECTION["form"], CORRECTION["reason"],
                                        users.supervisor, Actor(users.supervisor.id))
    assert (stored.canonical_json, stored.sha256) == (fixture_text("hidden-photo-v2"), fixture_sha256("hidden-photo-v2"))
    assert (draft.fail_count, draft.warn_count, draft.current_version) == (1, 0, 2)
    assert corrections.history(draft) == [json.loads(fixture_text("hidden-photo-v2"))["correction"] | {"version": 2}]


def test_correction_clearing_a_value_hides_what_depends_on_it(golden, users):
    """Clearing an answer re-judges the items whose show_if depends on it."""
    draft = build_draft(golden, "series-fail")
    v1 = RecordDocument.from_json(fixture_text("series-fail"))
    v2 = v1.with_correction(draft.form_version.definition, "leak_where", None, "Wrong item", users.supervisor,
                            CORRECTED_AT)
    assert (v2.item("leak_where").visible, v2.item("leak_where").state) == (True, "unanswered")
    assert (v2.item("leak_fixed").visible, v2.item("leak_fixed").value) == (False, None)
    assert v2.summary["fail"] == v1.summary["fail"] - 1 and v2.version == 2


def _insert_golden(users) -> list[RecordVersion]:
    """The golden versions as rows, the way data made before the change sits in the database."""
    rows = []
    for name in VERSIONS:
        text = fixture_text(name)
        document = RecordDocument.from_json(text)
        submission = db.session.get(Submission, document.record_id)
        submission.status = SUBMITTED
        submission.current_version, submission.current_sha256 = document.version, fixture_sha256(name)
        row = RecordVersion(submission=submission, version=document.version, canonical_json=text,
                            sha256=fixture_sha256(name), created_by_id=users.operator.id)
        db.session.add(row)
        rows.append(row)
    db.session.commit()
    return rows


def test_verify_and_audit_chain_pass_on_golden_rows(golden, users, login, app):
    """Golden rows (data made before the change): the verify page and service, and `flask audit verify`, pass."""
    for name in IDS:
        build_draft(golden, name)
    rows = _insert_golden(users)
    for row in rows:
        answer = verify_sha256(row.sha256)
        status = "superseded" if row.version == 1 and row.submission_id == IDS["hidden-photo"] else "current"
        assert (answer.status, answer.record_id, answer.version) == (status, row.submission_id, row.version)
        assert row.record.canonical_json() == row.canonical_json
    page = login(users.auditor).get(f"/verify?sha256={rows[-1].sha256}").get_data(as_text=True)
    assert f"This sha256 is that of record {IDS['hidden-photo']}, version 2, the current version." in page
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "audit chain OK" in result.output


def test_record_pages_and_exports_read_golden_rows(golden, users, login):
    """The record page, the answers export and the search text all read the typed golden rows."""
    for name in IDS:
        build_draft(golden, name)
    rows = _insert_golden(users)
    client = login(users.auditor)
    page = client.get(f"/records/{IDS['series-fail']}").get_data(as_text=True)
    assert "Golden mixed inspection" in page and "Hose at valve block V2, dripping" in page
    v2 = next(r for r in rows if r.version == 2)
    csv_text = "".join(exports.answers_csv([db.session.get(Submission, IDS["series-fail"])]))
    assert (f"{IDS['series-fail']},1,{fixture_sha256('series-fail')},golden-mixed,1,Line 1,Press 1,2026-11-23,A,"
            "T-Operator,2026-11-23T13:05:42+00:00,measures,torque,Bracket bolts M10,number,50.0; 46.2; 55.4,N·m,"
            "50,45,55,46.5,53.5,fail,\"3 readings: mean 50.5 N·m, min 46.2 N·m, max 55.4 N·m; 1 of 3 outside "
            "45–55 N·m; 1 in the warning band\",Bolt 3 loose after rework,Re-torqued and rechecked\r\n") in csv_text
    assert versions.search_words(v2.record) == ("golden mixed inspection — prüfung golden-mixed assembly line 1 press 1 "
                                               "t-operator misread")
    assert db.session.scalar(select(RecordVersion.sha256).where(RecordVersion.id == v2.id)) == fixture_sha256(
        "hidden-photo-v2")
