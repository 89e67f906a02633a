"""A change leaves the tablet's outbox only when Floorbook itself took it, never on an answer from
something in between (a proxy's sign-in page) or from the sign-in page the server sent htmx to."""
import re
import time

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Answer
from tests.e2e.offline import Gate, at_station, enter, open_line_check, outbox_length, publish_offline_form


def _answers(submission_id: str) -> list[tuple[str, float, int]]:
    rows = db.session.scalars(select(Answer).where(Answer.submission_id == submission_id)).all()
    found = sorted((a.item_name, a.value, a.answered_by_id) for a in rows)
    db.session.rollback()  # no transaction left open: on SQLite it would hold the app's write lock
    return found


def _until_answers(submission_id: str, count: int, seconds: float = 10) -> list[tuple[str, float, int]]:
    deadline = time.monotonic() + seconds
    while len(_answers(submission_id)) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return _answers(submission_id)


def _until(check, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.1)


def test_a_replay_redirected_by_a_proxy_stays_in_the_outbox(app, plant, make_user, tablet, tablet_context, request):
    """A proxy's redirect to its own sign-in page is not delivery: the change waits, says why, and is
    sent once the way to the app is open again."""
    author_id = make_user("operator", username="operator1", badge="1001", pin="1234").id
    publish_offline_form()
    gate = Gate(app)
    base = request.getfixturevalue("live_server")
    page, submission_id = open_line_check(tablet_context, base, (app.config["DEVICE_COOKIE"], tablet[1]), "1001", "1234")
    tablet_context.set_offline(True)
    enter(page, "reading_01", "11.0")
    gate.redirecting = True
    tablet_context.set_offline(False)
    page.evaluate("() => window.FloorbookOutboxPage.flush()")
    page.goto(f"{base}/floor/outbox")
    expect(page.locator("[data-outbox-rows]")).to_contain_text("did not come from Floorbook")
    assert outbox_length(page) == 1 and _answers(submission_id) == []

    gate.redirecting = False
    page.reload()  # any page load sends what waits
    expect(page.locator("body")).to_have_attribute("data-outbox-count", "0", timeout=10_000)
    assert _answers(submission_id) == [("reading_01", 11.0, author_id)]


def test_a_save_sent_to_the_sign_in_page_waits_for_its_author(app, plant, make_user, tablet, tablet_context, request):
    """The server signed the tablet out for being idle just as an answer went: htmx is told to go to the
    sign-in page. The answer is kept, but not sent on the author's token (whoever tapped may be someone
    else at an idle tablet): it waits for its author's next sign-in, which sends it as theirs."""
    author_id = make_user("operator", username="operator1", badge="1001", pin="1234").id
    publish_offline_form()
    base = request.getfixturevalue("live_server")
    cookie = (app.config["DEVICE_COOKIE"], tablet[1])
    page, submission_id = open_line_check(tablet_context, base, cookie, "1001", "1234")
    enter(page, "reading_01", "11.0", state="saved")
    app.config["IDLE_TIMEOUT_MINUTES"] = 0  # the session has been idle too long from now on
    page.locator("#in-reading_02").fill("12.0")
    page.locator("#in-reading_02").press("Tab")
    expect(page).to_have_url(re.compile(r"/login(/badge)?\?reason=idle"))
    page.wait_for_timeout(1500)  # the sign-in page sends whatever may go
    assert outbox_length(page) == 1 and _answers(submission_id) == [("reading_01", 11.0, author_id)]
    page.close()

    app.config["IDLE_TIMEOUT_MINUTES"] = 15
    page = at_station(tablet_context, base, cookie, "1001", "1234")
    assert _until_answers(submission_id, 2) == [("reading_01", 11.0, author_id), ("reading_02", 12.0, author_id)]
    _until(lambda: outbox_length(page) == 0)


def test_a_change_the_server_keeps_failing_on_can_be_discarded(app, plant, make_user, tablet, tablet_context,
                                                              request):
    """Three 503s for the first change: the outbox page offers to discard it (after a confirmation),
    and the change queued behind it then goes."""
    author_id = make_user("operator", username="operator1", badge="1001", pin="1234").id
    publish_offline_form()
    gate = Gate(app)
    base = request.getfixturevalue("live_server")
    page, submission_id = open_line_check(tablet_context, base, (app.config["DEVICE_COOKIE"], tablet[1]), "1001", "1234")
    gate.closed = True
    enter(page, "reading_01", "11.0")
    enter(page, "reading_02", "12.0")
    page.goto(f"{base}/floor/outbox")
    rows = page.locator("[data-outbox-rows] tr")
    expect(rows).to_have_count(2)
    for _ in range(3):
        page.evaluate("() => window.FloorbookOutboxPage.flush()")
    expect(rows.first).to_contain_text("The server had a problem (503)")
    discard = rows.first.get_by_role("button", name="Discard")
    expect(discard).to_be_visible()
    expect(rows.nth(1).get_by_role("button", name="Discard")).to_have_count(0)  # never tried: not stuck
    gate.closed = False
    page.once("dialog", lambda dialog: dialog.accept())
    discard.tap()
    expect(page.locator("body")).to_have_attribute("data-outbox-count", "0", timeout=10_000)
    assert _answers(submission_id) == [("reading_02", 12.0, author_id)]


def test_a_newer_value_never_overtakes_an_older_one_that_failed(app, plant, make_user, tablet, tablet_context,
                                                               request):
    """11.0 hangs and fails while the operator corrects it to 12.0 (htmx holds 12.0 back until 11.0
    ends): 12.0 queues behind 11.0 in the outbox, so the server ends with 12.0, never 11.0."""
    author_id = make_user("operator", username="operator1", badge="1001", pin="1234").id
    publish_offline_form()
    gate = Gate(app)
    base = request.getfixturevalue("live_server")
    page, submission_id = open_line_check(tablet_context, base, (app.config["DEVICE_COOKIE"], tablet[1]), "1001", "1234")
    gate.slow_failures = 1
    field = page.locator("#in-reading_01")
    field.fill("11.0")
    field.press("Tab")
    page.wait_for_timeout(300)  # 11.0 is on its way
    field.fill("12.0")
    field.press("Tab")
    expect(page.locator("#item-reading_01 .save-state")).to_have_attribute("data-state", "saved", timeout=15_000)
    expect(page.locator("body")).to_have_attribute("data-outbox-count", "0")
    page.wait_for_timeout(1000)  # anything still to arrive would arrive now
    assert _answers(submission_id) == [("reading_01", 12.0, author_id)]
    expect(page.locator("#in-reading_01")).to_have_value("12.0")
