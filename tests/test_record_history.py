"""The change history tells the truth: answers changed while filling and corrections, on the record page and the PDF."""
import uuid
from datetime import timedelta
from pathlib import Path

from app.models.types import frozen_clock
from app.services.floor import attachments, submissions
from app.services.records import corrections, pdf, record_history, versions
from app.services.core.audit import Actor
from tests.helpers.photos import png
from tests.test_pdf import AT, BASE_URL, PRESS_CHECKS, texts
from tests.test_signing import as_user  # noqa: F401  (fixture)

CHANGED_AT = AT + timedelta(minutes=5)  # 06:20 in Chicago


def changed_record(plant, operator, instance: Path):
    """A press check whose operator typed 158 bar, then changed it to 171 bar five minutes later, and submitted."""
    actor = Actor(operator.id)
    with frozen_clock(AT):
        draft = submissions.start_submission(str(uuid.UUID(int=9)), plant.forms["press-start-of-shift"].id,
                                             plant.stations["Press 1"].id, actor)
        submissions.save_answer(draft, "hydraulic_pressure", {"value": ["158"]}, actor)
    with frozen_clock(CHANGED_AT):
        submissions.save_answer(draft, "hydraulic_pressure", {"value": ["171"]}, actor)
        submissions.explain(draft, "hydraulic_pressure", "Relief valve stuck", "Press locked out", actor)
        for item, value in PRESS_CHECKS.items():
            submissions.save_answer(draft, item, {}, actor, value=value, parsed=True)
        submissions.save_answer(draft, "leak_location", {}, actor, value="Hose at V2", parsed=True)
        submissions.explain(draft, "oil_leaks", "Hose fitting loose", "Fitting tightened", actor)
        photo = attachments.store_photo(png(), 10 << 20, operator.id)
        submissions.add_photo(draft, "guard_photo", photo.sha256, actor)
        versions.submit(draft, actor)
    return draft


def test_an_answer_changed_while_filling_is_in_the_history(app, plant, users):
    """The service lists 158 → 171 with who and when; a first answer or an explanation is no change."""
    record = changed_record(plant, users.operator, Path(app.instance_path))
    history = record_history.record_history(record)
    assert [(c.item, c.old, c.new, c.by, c.username, c.at) for c in history.while_filling] == [
        ("hydraulic_pressure", 158.0, 171.0, "T-Operator", "t-operator", CHANGED_AT)]
    assert history.corrections == () and not history.empty


def test_corrections_join_the_history_up_to_their_version(app, plant, users):
    """A correction after submit is listed with its reason, and only for its version and later ones."""
    record = changed_record(plant, users.operator, Path(app.instance_path))
    corrections.correct_record(record, "leak_location", {"value": ["Hose at V3"]}, "Wrong valve block",
                               users.supervisor, Actor(users.supervisor.id))
    full = record_history.record_history(record)
    assert [(c.version, c.old, c.new, c.by, c.reason) for c in full.corrections] == [
        (2, "Hose at V2", "Hose at V3", "T-Supervisor", "Wrong valve block")]
    assert record_history.record_history(record, up_to_version=1).corrections == ()
    assert len(full.while_filling) == 1


def test_the_pdf_and_the_record_page_list_the_change(app, plant, users, as_user):
    """The PDF's change history and the record page both show 158 → 171, who and when; neither says "no changes"."""
    record = changed_record(plant, users.operator, Path(app.instance_path))
    text = " ".join(texts(pdf.pdf_for(record.versions[-1], "Alex Chen (auditor1)", BASE_URL).read_bytes()))
    assert ("While filling Hydraulic pressure 158 171 T-Operator (t-operator) 2026-11-20 06:20 CST (UTC-06:00) "
            "Changed before submit: 158 → 171") in text
    assert "No changes since original entry" not in text
    html = as_user(users.auditor).get(f"/records/{record.id}").get_data(as_text=True)
    history = html[html.index('id="sec-history"'):html.index('id="sec-audit"')]
    assert "158 → 171" in history and "T-Operator" in history and "2026-11-20 06:20 CST (UTC-06:00)" in history
    assert "No changes since original entry" not in history


def test_a_record_without_changes_says_so(users, make_record, as_user):
    """Nothing changed while filling and no correction: the record page says "No changes since original entry"."""
    record = make_record(users.operator)
    assert record_history.record_history(record).empty
    html = as_user(users.auditor).get(f"/records/{record.id}").get_data(as_text=True)
    assert "No changes since original entry." in html[html.index('id="sec-history"'):]
