"""A scan answered on the fill page: a pattern miss is refused in the item, a wrong code fails and raises its
deviation in the printed name's words, a right code passes; statements and pages use the printed name and 'an'."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Answer, Deviation
from app.models.types import frozen_clock
from app.services.records import versions
from app.services.core.audit import Actor
from app.services.access.users import create_user
from tests.helpers.deviations import AT, failing_press_record

FAI = "first-article-inspection"


@pytest.fixture
def ann(app):
    """An operator whose printed name is nothing like her username."""
    return create_user("op77", "Ann Example", ["operator"], "correct horse battery", "7077", "2468", Actor(None))


@pytest.fixture
def fai(ann, plant, start_draft, login):
    """Ann's draft first-article inspection at Press 1 and her tablet client."""
    return start_draft(ann, FAI), login(ann, tablet=True)


def save(client, draft, item: str, value: str):
    """Post one typed value as htmx does on change."""
    with frozen_clock(AT):
        return client.post_form(f"/floor/submissions/{draft.id}/items/{item}", {"value": value}, htmx=True)


def answer(draft, item: str) -> Answer | None:
    """The stored answer of item, if any."""
    return db.session.scalar(select(Answer).where(Answer.submission_id == draft.id, Answer.item_name == item))


def test_a_code_that_misses_the_pattern_is_refused_in_the_item(fai) -> None:
    """422, the item says which pattern is expected, and nothing is stored."""
    draft, client = fai
    response = save(client, draft, "part_number", "BR-21")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "&#39;BR-21&#39; is not a valid code: expected the pattern BR-2[0-9]{2}-[A-Z], such as BR-214-C" in html
    assert 'role="alert"' in html and answer(draft, "part_number") is None


def test_a_wrong_code_fails_asks_why_and_raises_a_deviation_in_the_printed_name(fai) -> None:
    """The label scan must equal the traveller's part: a mismatch fails, shows the why box, raises a deviation."""
    draft, client = fai
    assert save(client, draft, "part_number", "BR-214-C").status_code == 200
    response = save(client, draft, "part_label", "BR-215-C")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    stored = answer(draft, "part_label")
    assert (stored.value, stored.state, stored.summary) == ("BR-215-C", "fail", "BR-215-C, expected BR-214-C")
    assert 'class="why-box"' in html and "The part is not the one the traveller asks for" in html
    deviation = db.session.scalar(select(Deviation).where(Deviation.item_name == "part_label"))
    assert deviation.what_happened == \
        "Part number on the first part's label: BR-215-C, expected BR-214-C, Press 1, Ann Example, 06:42 CST"
    assert "op77" not in deviation.what_happened


def test_the_right_code_passes_and_closes_the_deviation(fai) -> None:
    """Scanning the right label afterwards passes and closes the open deviation before anyone acted on it."""
    draft, client = fai
    save(client, draft, "part_number", "BR-214-C")
    save(client, draft, "part_label", "BR-215-C")
    html = save(client, draft, "part_label", "BR-214-C").get_data(as_text=True)
    assert answer(draft, "part_label").state == "ok" and "BR-214-C, as expected" in html
    assert 'class="why-box"' not in html
    assert db.session.scalar(select(Deviation.status).where(Deviation.item_name == "part_label")) == "closed"


def test_changing_the_expected_answer_rejudges_the_scan(fai) -> None:
    """The traveller's part changed after the label was scanned: the label item comes back failing, out of band."""
    draft, client = fai
    save(client, draft, "part_number", "BR-214-C")
    save(client, draft, "part_label", "BR-214-C")
    html = save(client, draft, "part_number", "BR-216-C").get_data(as_text=True)
    assert 'id="item-part_label"' in html and "BR-214-C, expected BR-216-C" in html
    assert db.session.scalar(select(Deviation.status).where(Deviation.item_name == "part_label")) == "open"
    assert ("part_label", "a reason for the failure") in [(m.item, m.need) for m in versions.missing(draft)]


def test_pages_say_by_an_inspector(app, plant, users, login) -> None:
    """A record waiting for the inspector's signature says 'by an inspector', never 'by a inspector'."""
    version = failing_press_record(app, plant, users.operator)
    html = login(users.auditor).get(f"/records/{version.submission_id}").get_data(as_text=True)
    assert "by an inspector" in html and "by a inspector" not in html


def test_demo_history_scans_valid_codes_and_fails_only_by_mismatch(plant) -> None:
    """The demo's week of records answers the first-article scans with codes that fit their patterns."""
    import random
    import re
    from datetime import datetime, timezone

    from app.services.demo.history import answer_for

    items = {i["name"]: i for s in plant.forms[FAI].definition["sections"] for i in s["items"]}
    when, rng = datetime(2026, 11, 20, tzinfo=timezone.utc), random.Random(1)
    traveller = answer_for(items["part_number"], rng, False, when, {})
    good = answer_for(items["part_label"], rng, False, when, {"part_number": traveller})
    bad = answer_for(items["part_label"], rng, True, when, {"part_number": traveller})
    lot = answer_for(items["coil_lot"], rng, False, when, {})
    for item, code in (("part_number", traveller), ("part_label", good), ("part_label", bad), ("coil_lot", lot)):
        assert re.fullmatch(items[item]["pattern"], code), (item, code)
    assert good == traveller != bad
