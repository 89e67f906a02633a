"""A submitted record read in Chromium: every answered check exposes its answer in the accessibility tree."""
import uuid

import pytest
from playwright.sync_api import expect

from app.services.floor import attachments, submissions

from app.services.records import versions
from app.services.core.audit import Actor
from tests.e2e.signin import password_sign_in
from tests.helpers.photos import png

# Passes, fails and N/As, with the words each answer must be read out as.
CHECKS = {"guards_in_place": "pass", "light_curtain": "na", "two_hand_control": "na", "emergency_stop": "pass",
          "oil_leaks": "fail", "lubrication_level": "pass"}
WORDS = {"pass": "Pass", "fail": "Fail", "na": "N/A"}


@pytest.fixture
def checked_record(app, plant, make_user):
    """A submitted press check by operator1 with passes, a failure (explained) and N/As; returns (record, labels)."""
    operator = make_user("operator", username="operator1", badge="1001", pin="1234")
    make_user("inspector", username="inspector1", password="inspector1-demo", demo=True)
    actor = Actor(operator.id)
    draft = submissions.start_submission(str(uuid.uuid4()), plant.forms["press-start-of-shift"].id,
                                         plant.stations["Press 1"].id, actor)
    for name, value in CHECKS.items():
        submissions.save_answer(draft, name, {}, actor, value=value, parsed=True)
    submissions.explain(draft, "oil_leaks", "Hose fitting loose", "Fitting tightened", actor)
    submissions.save_answer(draft, "leak_location", {}, actor, value="Hose at V2", parsed=True)
    submissions.save_answer(draft, "hydraulic_pressure", {}, actor, value=150.0, parsed=True)
    photo = attachments.store_photo(png(), 10 << 20, operator.id)
    submissions.add_photo(draft, "guard_photo", photo.sha256, actor)
    versions.submit(draft, actor)
    labels = {i["name"]: i["label"] for s in draft.form_version.definition["sections"] for i in s["items"]}
    return draft.id, labels


def assert_answers_exposed(page, labels: dict[str, str]) -> None:
    """Each check item is a group named by its label whose definition reads its answer, with no radio left behind."""
    for name, value in CHECKS.items():
        group = page.get_by_role("group", name=labels[name], exact=True)
        expect(group.get_by_role("definition").first).to_have_text(WORDS[value])
        assert f"- definition: {WORDS[value]}" in group.aria_snapshot()
    expect(page.get_by_role("radio")).to_have_count(0)
    pressure = page.get_by_role("group", name=f"{labels['hydraulic_pressure']} (bar)", exact=True)
    expect(pressure).to_contain_text("150.0 bar")
    expect(page.get_by_role("group", name=labels["guard_photo"], exact=True)).to_contain_text("✓ OK")


def test_record_and_review_pages_read_out_every_answer(checked_record, tablet_context, request):
    """inspector1 opens the record page and the review page: "No oil leaks…" reads "Fail", the N/As "N/A"."""
    record_id, labels = checked_record
    live_server = request.getfixturevalue("live_server")
    page = password_sign_in(tablet_context, live_server, "inspector1", "inspector1-demo")
    expect(page.get_by_role("link", name="Review 1 waiting")).to_be_visible()

    page.goto(f"{live_server}/records/{record_id}")
    expect(page.get_by_role("heading", name="Press start-of-shift check")).to_be_visible()
    assert_answers_exposed(page, labels)

    page.goto(f"{live_server}/review/{record_id}")
    expect(page.get_by_role("heading", name="Sign this record")).to_be_visible()
    assert_answers_exposed(page, labels)
