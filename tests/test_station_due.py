"""The station home's due list over HTTP with a frozen clock: overdue first, due, done with who, later."""
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import lxml.html
import pytest
from sqlalchemy import delete

from app.models import FormVersion, Submission
from app.models.types import frozen_clock
from app.services.floor import submissions
from app.services.core.audit import Actor
from tests.helpers.records import fill_and_submit

CHICAGO = ZoneInfo("America/Chicago")
PRESS = "Press start-of-shift check"
TORQUE = "Hourly torque audit"


def local(*args) -> datetime:
    """A Chicago wall-clock time."""
    return datetime(*args, tzinfo=CHICAGO)


@pytest.fixture
def at_station(login, users, plant):
    """at_station(name) → an operator client whose session works at that station."""
    def make(name: str):
        client = login(users.operator)
        with client.session_transaction() as session:
            session["station_id"] = plant.stations[name].id
        return client
    return make


def home(client, now: datetime):
    """The station home rendered at now, parsed."""
    with frozen_clock(now):
        response = client.get("/floor")
    assert response.status_code == 200
    return lxml.html.fromstring(response.get_data(as_text=True))


def rows(page, state: str) -> list:
    """The due section's rows in a state, in page order."""
    return page.xpath(f'//section[@class="due"]//li[contains(@class, "due-row--{state}")]')


def text(element) -> str:
    """An element's text with whitespace collapsed."""
    return " ".join(element.text_content().split())


def start_buttons(page, title: str) -> list:
    """Buttons whose accessible name is 'Start <title>'."""
    return page.xpath(f'//button[@aria-label="Start {title}"]')


def submitted_at(make_record, user, when: datetime, form_id: str, station: str):
    """A record submitted at the frozen time when."""
    with frozen_clock(when):
        return make_record(user, form_id, station)


def test_overdue_first_then_due_then_done_with_who(at_station, users, make_record):
    """Weld 1 at 09:10: 07:00 and 08:00 overdue (red, the word Overdue), 09:00 due, 06:00 done by the operator."""
    record = submitted_at(make_record, users.operator, local(2026, 11, 23, 6, 20), "torque-audit", "Weld 1")
    page = home(at_station("Weld 1"), local(2026, 11, 23, 9, 10))
    section_rows = page.xpath('//section[@class="due"]//ul[contains(@class, "due-list")]/li')
    assert [r.get("class").split()[-1] for r in section_rows] == ["due-row--overdue", "due-row--overdue", "due-row--due"]
    first, second = rows(page, "overdue")
    assert "⚠ Overdue" in text(first) and "due 07:00 · overdue since 07:30" in text(first)
    assert "window closed 08:00, missed" in text(first) and not first.xpath(".//button")
    assert "due 08:00 · overdue since 08:30" in text(second)
    [due] = rows(page, "due")
    assert "● Due" in text(due) and "due 09:00" in text(due) and "Overdue" not in text(due)
    assert len(start_buttons(page, TORQUE)) == 1 and due.xpath(f'.//button[@aria-label="Start {TORQUE}"]')
    [done] = rows(page, "done")
    assert "✓ Done" in text(done) and f"06:20 by {users.operator.printed_name}" in text(done)
    assert done.xpath(f'.//a[@href="/records/{record.id}"]')
    later = rows(page, "upcoming")
    assert [text(r) for r in later] == [f"{TORQUE} from {h}:00" for h in ("10", "11", "12", "13")]


def test_overdue_per_shift_check_has_the_only_start_button(at_station):
    """Press 1 at 09:10 with no record: the press check is overdue since 06:30, startable once on the page."""
    page = home(at_station("Press 1"), local(2026, 11, 23, 9, 10))
    [overdue] = rows(page, "overdue")
    assert PRESS in text(overdue) and "due 06:00 · overdue since 06:30" in text(overdue)
    [button] = start_buttons(page, PRESS)
    form = button.getparent()
    assert form.get("action") == "/floor/submissions" and form.get("method") == "post"
    fields = {i.get("name"): i for i in form.xpath(".//input")}
    assert set(fields) == {"csrf_token", "id", "form_version_id", "station_id"} and "data-uuid" in fields["id"].attrib
    assert "Due now: start it with the Start button above." in page.text_content()


def test_start_from_the_due_list_makes_the_check_done(at_station, users, db):
    """Posting the due list's start form and submitting turns the overdue row into a done row."""
    client = at_station("Press 1")
    page = home(client, local(2026, 11, 23, 9, 10))
    form = start_buttons(page, PRESS)[0].getparent()
    data = {i.get("name"): i.get("value") for i in form.xpath(".//input") if i.get("name") != "csrf_token"}
    data["id"] = str(uuid.uuid4())
    with frozen_clock(local(2026, 11, 23, 9, 12)):
        assert client.post_form("/floor/submissions", data).status_code == 303
    draft = db.session.get(Submission, data["id"])
    with frozen_clock(local(2026, 11, 23, 9, 20)):
        fill_and_submit(draft, users.operator)
    page = home(client, local(2026, 11, 23, 9, 30))
    assert not rows(page, "overdue") and "Nothing is due at Press 1 right now" in page.text_content()
    [done] = rows(page, "done")
    assert PRESS in text(done) and "09:20 by" in text(done)


def test_draft_of_this_shift_is_resumed_not_started_again(at_station, users, plant):
    """A draft started this shift gives the due row a Resume link to it; a draft of the last shift does not."""
    def draft_at(when):
        with frozen_clock(when):
            return submissions.start_submission(str(uuid.uuid4()), plant.forms["press-start-of-shift"].id,
                                                plant.stations["Press 1"].id, Actor(users.operator.id))
    old = draft_at(local(2026, 11, 23, 5, 0))
    client = at_station("Press 1")
    [overdue] = rows(home(client, local(2026, 11, 23, 9, 10)), "overdue")
    assert overdue.xpath(f'.//button[@aria-label="Start {PRESS}"]') and not overdue.xpath(".//a")
    current = draft_at(local(2026, 11, 23, 7, 0))
    page = home(client, local(2026, 11, 23, 9, 10))
    [overdue] = rows(page, "overdue")
    [link] = overdue.xpath(".//a")
    assert link.get("href") == f"/floor/submissions/{current.id}" and link.get("aria-label") == f"Resume {PRESS}"
    assert not overdue.xpath(".//button") and len(start_buttons(page, PRESS)) == 1  # the list of all checklists
    assert old.id != current.id


def test_station_without_scheduled_forms_has_no_due_section(at_station, plant, db):
    """Only on-demand forms apply: no Due now heading."""
    scheduled = [f.id for f in plant.forms.values() if f.definition["schedule"]["kind"] != "on_demand"]
    db.session.execute(delete(FormVersion).where(FormVersion.id.in_(scheduled)))
    db.session.commit()
    page = home(at_station("Press 1"), local(2026, 11, 23, 9, 10))
    assert not page.xpath('//section[@class="due"]') and "Due now" not in page.text_content()
    assert page.xpath('//button[@aria-label="Start Lockout/tagout verification"]')
