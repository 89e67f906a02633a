"""The outbox on a shared tablet: sign-out keeps one person's unsent changes, refusals are shown, not dropped."""
import re
import time

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Answer, AuditEvent
from tests.e2e.offline import Gate, enter, open_line_check, outbox_length, publish_offline_form
from tests.e2e.signin import badge_sign_in

def test_sign_out_keeps_unsent_answers_for_their_author(app, plant, make_user, tablet, tablet_context, request):
    """3 unsent answers: sign-out warns and keeps them; operator2 sees none; they arrive as operator1's."""
    first = make_user("operator", username="operator1", badge="1001", pin="1234")
    make_user("operator", username="operator2", badge="1002", pin="2345")
    first_id, device_id = first.id, tablet[0].id
    publish_offline_form()
    gate = Gate(app)
    base = request.getfixturevalue("live_server")
    cookie = (app.config["DEVICE_COOKIE"], tablet[1])
    page, submission_id = open_line_check(tablet_context, base, cookie, "1001", "1234")

    gate.closed = True  # the answers cannot get through; the sign-out can
    for name, value in (("reading_01", "11.5"), ("reading_02", "12.5"), ("reading_03", "13.5")):
        enter(page, name, value)
    expect(page.locator("[data-outbox-badge]")).to_contain_text("3 waiting to send")
    page.get_by_role("button", name="Sign out").tap()
    warning = page.get_by_role("dialog", name="Changes not sent yet")
    expect(warning).to_contain_text("3 change(s) you made are still on this tablet")
    expect(warning).to_contain_text("Operator1")
    warning.get_by_role("button", name="Stay signed in").tap()
    expect(page.locator("#in-reading_01")).to_have_value("11.5")  # still signed in, nothing lost
    page.get_by_role("button", name="Sign out").tap()
    page.get_by_role("button", name="Sign out anyway").tap()
    expect(page).to_have_url(re.compile(r"/login"))
    page.close()

    page = badge_sign_in(tablet_context, base, cookie, "1002", "2345")
    expect(page.get_by_role("heading", name="Press 1")).to_be_visible()
    assert outbox_length(page) == 3  # kept on the tablet…
    expect(page.locator("body")).to_have_attribute("data-outbox-count", "0")  # …but not operator2's
    expect(page.locator("[data-outbox-badge]")).to_be_hidden()
    page.goto(f"{base}/floor/submissions/{submission_id}")  # operator1's draft: offered to take over, not shown
    expect(page.get_by_role("button", name="Take over and continue")).to_be_visible()
    expect(page.locator("#in-reading_01")).to_have_count(0)
    assert "11.5" not in page.content() and "Saved on this tablet" not in page.content()
    page.go_back()
    expect(page.locator(".user-chip")).to_have_text("Operator2")
    assert "11.5" not in page.content()
    page.goto(f"{base}/floor/outbox")
    expect(page.get_by_text("3 change(s) made by other people are also waiting")).to_be_visible()
    expect(page.locator("[data-outbox-rows] tr")).to_have_count(0)

    gate.closed = False  # the app server is back
    page.reload()  # any page load sends what waits, each change with its own author's token
    deadline = time.monotonic() + 10
    while outbox_length(page) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert outbox_length(page) == 0
    answers = db.session.scalars(select(Answer).where(Answer.submission_id == submission_id)).all()
    assert sorted((a.item_name, a.value) for a in answers) == [("reading_01", 11.5), ("reading_02", 12.5),
                                                              ("reading_03", 13.5)]
    assert {a.answered_by_id for a in answers} == {first_id}
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "answer.saved")).all()
    assert len(events) == 3 and {(e.actor_id, e.device_id) for e in events} == {(first_id, device_id)}


def test_a_refused_change_is_shown_with_its_reason_and_kept(app, plant, make_user, tablet, tablet_context, request):
    """Offline, a reading that is not a number: on replay the server refuses it; the item and the outbox page say why."""
    make_user("operator", username="operator1", badge="1001", pin="1234")
    publish_offline_form()
    base = request.getfixturevalue("live_server")
    page, submission_id = open_line_check(tablet_context, base, (app.config["DEVICE_COOKIE"], tablet[1]), "1001", "1234")

    tablet_context.set_offline(True)
    enter(page, "reading_01", "twelve")
    enter(page, "reading_02", "12.5")
    tablet_context.set_offline(False)
    state = page.locator("#item-reading_01 .save-state")
    expect(state).to_have_attribute("data-state", "error", timeout=10_000)
    expect(state).to_contain_text("Not saved — ")
    expect(state).to_contain_text("Enter a number such as")
    expect(page.locator("[data-outbox-badge]")).to_have_attribute("data-state", "attention")
    expect(page.locator("[data-outbox-badge]")).to_contain_text("1 waiting to send")
    assert [a.item_name for a in db.session.scalars(select(Answer).where(Answer.submission_id == submission_id))] \
        == ["reading_02"]
    db.session.rollback()

    page.goto(f"{base}/floor/outbox")
    row = page.locator("[data-outbox-rows] tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Answer: Reading 1")
    expect(row).to_contain_text("Refused by the server")
    expect(row).to_contain_text("Enter a number such as")
    page.reload()  # kept across loads until the operator acts on it
    expect(page.locator("[data-outbox-rows] tr")).to_have_count(1)

    page.goto(f"{base}/floor/submissions/{submission_id}")
    expect(page.locator("#item-reading_01 .save-state")).to_contain_text("Enter a number such as")
    enter(page, "reading_01", "12.0", state="saved")  # the correction replaces the refused change
    expect(page.locator("body")).to_have_attribute("data-outbox-count", "0")
    answer = db.session.scalar(select(Answer).where(Answer.item_name == "reading_01"))
    assert answer is not None and answer.value == 12.0


def test_a_form_started_offline_reaches_the_server_with_its_answers(app, plant, make_user, tablet, tablet_context,
                                                                    request):
    """Offline at the station home, Start opens the blank form the worker kept; start and answers arrive once."""
    from app.models import Submission
    from tests.e2e.offline import at_station

    operator = make_user("operator", username="operator1", badge="1001", pin="1234")
    operator_id = operator.id
    publish_offline_form()
    base = request.getfixturevalue("live_server")
    page = at_station(tablet_context, base, (app.config["DEVICE_COOKIE"], tablet[1]), "1001", "1234")
    page.reload()  # the worker, now in control, keeps the blank forms of this station
    page.wait_for_timeout(1000)

    tablet_context.set_offline(True)
    page.get_by_role("button", name="Start Line readings check").tap()
    expect(page.get_by_role("heading", name="Line readings check")).to_be_visible()
    submission_id = page.locator("[data-outbox]").get_attribute("data-submission-id")
    assert re.fullmatch(r"[0-9a-f-]{36}", submission_id) and not submission_id.startswith("00000000")
    enter(page, "reading_01", "11.0")
    enter(page, "reading_02", "12.0")
    expect(page.locator("[data-outbox-badge]")).to_contain_text("3 waiting to send")
    assert db.session.get(Submission, submission_id) is None
    db.session.rollback()

    tablet_context.set_offline(False)
    expect(page.locator("body")).to_have_attribute("data-outbox-count", "0", timeout=10_000)
    submission = db.session.get(Submission, submission_id)
    assert submission is not None and submission.started_by_id == operator_id and submission.status == "draft"
    assert sorted((a.item_name, a.value) for a in submission.answers) == [("reading_01", 11.0), ("reading_02", 12.0)]


def test_a_reload_offline_shows_the_answers_saved_online(app, plant, make_user, tablet, tablet_context, request):
    """The kept copy of a fill page follows the answers the server already has."""
    make_user("operator", username="operator1", badge="1001", pin="1234")
    publish_offline_form()
    base = request.getfixturevalue("live_server")
    page, _ = open_line_check(tablet_context, base, (app.config["DEVICE_COOKIE"], tablet[1]), "1001", "1234")
    enter(page, "reading_01", "11.0", state="saved")
    page.wait_for_timeout(2500)  # the worker refreshes its copy shortly after a save
    tablet_context.set_offline(True)
    enter(page, "reading_02", "12.0")
    assert page.reload().from_service_worker
    expect(page.locator("#in-reading_01")).to_have_value("11.0")
    expect(page.locator("#item-reading_01 .save-state")).to_have_attribute("data-state", "saved")
    expect(page.locator("#in-reading_02")).to_have_value("12.0")
    expect(page.locator("#item-reading_02 .save-state")).to_have_attribute("data-state", "local")


def test_a_change_whose_sign_in_ran_out_waits_for_its_author(app, plant, make_user, tablet, tablet_context, request):
    """401 on replay keeps the change and asks its author to sign in; their next sign-in sends it as theirs."""
    author = make_user("operator", username="operator1", badge="1001", pin="1234")
    author_id = author.id
    publish_offline_form()
    base = request.getfixturevalue("live_server")
    cookie = (app.config["DEVICE_COOKIE"], tablet[1])
    page, submission_id = open_line_check(tablet_context, base, cookie, "1001", "1234")
    tablet_context.set_offline(True)
    enter(page, "reading_01", "11.0")
    app.config["OUTBOX_TOKEN_HOURS"] = 0  # every token is too old from the next second on
    page.wait_for_timeout(1100)
    tablet_context.set_offline(False)
    state = page.locator("#item-reading_01 .save-state")
    expect(state).to_contain_text("Sign-in ran out: Operator1 must sign in on this tablet", timeout=10_000)
    expect(page.locator("[data-outbox-badge]")).to_have_attribute("data-state", "attention")
    assert db.session.scalar(select(Answer).where(Answer.submission_id == submission_id)) is None
    db.session.rollback()

    app.config["OUTBOX_TOKEN_HOURS"] = 14
    page.get_by_role("button", name="Sign out").tap()
    page.get_by_role("button", name="Sign out anyway").tap()
    expect(page).to_have_url(re.compile(r"/login"))  # signed out before the next sign-in starts, as on a tablet
    page.close()
    page = badge_sign_in(tablet_context, base, cookie, "1001", "1234")  # a fresh token for the waiting change
    expect(page.locator("body")).to_have_attribute("data-outbox-count", "0", timeout=10_000)
    answer = db.session.scalar(select(Answer).where(Answer.submission_id == submission_id))
    assert answer.value == 11.0 and answer.answered_by_id == author_id


KEPT_PAGES = """async () => {
    const cache = await caches.open("floorbook-pages");
    const owner = await cache.match("/__floorbook-pages-owner");
    return [owner ? await owner.text() : null, (await cache.keys()).map((r) => new URL(r.url).pathname)];
}"""


def test_pages_kept_for_someone_else_are_deleted_by_the_next_persons_first_page(app, plant, make_user, tablet,
                                                                                tablet_context, request):
    """Whatever way the copies of another person's pages outlived their sign-out, the first page of
    the person signed in now deletes them before it is kept."""
    operator_id = make_user("operator", username="operator1", badge="1001", pin="1234").id
    publish_offline_form()
    base = request.getfixturevalue("live_server")
    page, submission_id = open_line_check(tablet_context, base, (app.config["DEVICE_COOKIE"], tablet[1]), "1001", "1234")
    owner, urls = page.evaluate(KEPT_PAGES)
    assert owner == str(operator_id) and f"/floor/submissions/{submission_id}" in urls
    page.evaluate("""async () => {
        const cache = await caches.open("floorbook-pages");
        await cache.put("/__floorbook-pages-owner", new Response("424242"));
        await cache.put("/floor/submissions/someone-elses-draft", new Response("their answers"));
    }""")
    page.goto(f"{base}/floor")
    expect(page.get_by_role("heading", name="Press 1")).to_be_visible()
    page.wait_for_timeout(500)
    owner, urls = page.evaluate(KEPT_PAGES)
    assert owner == str(operator_id) and "/floor" in urls
    assert "/floor/submissions/someone-elses-draft" not in urls
