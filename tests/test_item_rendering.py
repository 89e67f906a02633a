"""What each renderer shows of an item: the required mark, a stored photo as done, read-only answers as words."""
import re

import pytest

from app.services.floor import attachments, submissions

from app.services.records import item_views
from app.services.core.audit import Actor
from tests.helpers.photos import png
from tests.test_signing import as_user  # noqa: F401  (fixture)


@pytest.fixture
def operator(login, users, plant):
    """operator signed in on a tablet session."""
    return login(users.operator, tablet=True)


def item_html(html: str, name: str) -> str:
    """The markup of item `name`, up to the next item."""
    start = html.index(f'id="item-{name}"')
    following = html.find('id="item-', start + 1)
    return html[start:following if following != -1 else len(html)]


def required_names(definition) -> list[str]:
    """The items submit asks for when every item is shown."""
    return [v.name for v in item_views.from_blank(definition).items if v.required and v.visible]


def test_every_required_item_shows_the_mark_on_the_fill_and_blank_pages(operator, users, start_draft, plant):
    """The guard photo too: each required item's label carries the required mark, on a draft and on the blank form."""
    draft = start_draft(users.operator)
    form = plant.forms["press-start-of-shift"]
    pages = [operator.get(f"/floor/submissions/{draft.id}").get_data(as_text=True),
             operator.get(f"/floor/forms/{form.id}/blank?station={plant.stations['Press 1'].id}").get_data(as_text=True)]
    names = required_names(form.definition)
    assert "guard_photo" in names
    for html in pages:
        unmarked = [name for name in names if 'class="required-mark"' not in item_html(html, name)]
        assert unmarked == []
        assert 'class="required-mark"' not in item_html(html, "before_you_start")


def test_a_stored_photo_shows_a_tick_not_info(app, operator, users, start_draft):
    """After the photo is stored the fill page says ✓ OK for it; "Info" never appears on the item."""
    draft = start_draft(users.operator)
    photo = attachments.store_photo(png(), 10 << 20, users.operator.id)
    submissions.add_photo(draft, "guard_photo", photo.sha256, Actor(users.operator.id))
    block = item_html(operator.get(f"/floor/submissions/{draft.id}").get_data(as_text=True), "guard_photo")
    assert 'class="item item--ok"' in block and "✓ OK" in block and "Info" not in block


def test_the_record_page_writes_answers_as_words_without_inputs(as_user, users, make_record):
    """No read-only radios or disabled inputs: each answer is text inside a group named by its label."""
    record = make_record(users.operator)
    html = as_user(users.auditor).get(f"/records/{record.id}").get_data(as_text=True)
    assert "disabled" not in html and not re.search(r'<input[^>]+name="value"', html)
    block = item_html(html, "hydraulic_pressure")
    assert 'role="group" aria-labelledby="label-hydraulic_pressure"' in block
    assert re.search(r'<dd class="item-answer">\s*150\.0 bar</dd>', block)
    assert "150.0 bar, within 140–160 bar" in block and "✓ OK" in block
