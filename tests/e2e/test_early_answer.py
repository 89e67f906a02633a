"""A change made while a page's scripts are still loading (an answer on the fill page, a search filter) is
acted on once they have loaded, not lost."""
import re

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Answer
from tests.e2e.conftest import TABLET
from tests.e2e.signin import badge_sign_in
from tests.e2e.test_search_flow import records_page

HTMX = "**/vendor/htmx-*.js"


def holding_htmx(browser):
    """A tablet context without a service worker (so every script comes through the route, which also turns
    the HTTP cache off) whose htmx requests are held while holding["on"]; (context, held routes, holding)."""
    context = browser.new_context(**TABLET, service_workers="block")
    context.set_default_timeout(10_000)
    held, holding = [], {"on": False}
    context.route(HTMX, lambda route: held.append(route) if holding["on"] else route.continue_())
    return context, held, holding


def test_a_value_typed_before_htmx_loads_is_saved_when_it_has(app, plant, make_user, tablet, browser, request):
    make_user("operator", username="operator1", badge="1001", pin="1234")
    live_server = request.getfixturevalue("live_server")
    context, held, holding = holding_htmx(browser)
    try:
        page = badge_sign_in(context, live_server, (app.config["DEVICE_COOKIE"], tablet[1]), "1001", "1234")
        start = page.get_by_role("button", name="Start Press start-of-shift check")
        expect(start).to_be_visible()
        page.wait_for_load_state("load")
        holding["on"] = True
        start.tap()
        pressure = page.get_by_label("Hydraulic pressure (bar)")
        pressure.fill("171")
        pressure.press("Tab")
        item = page.locator("#item-hydraulic_pressure")
        expect(item).to_have_class(re.compile(r"item--unanswered"))
        assert len(held) == 1, "the fill page's htmx is still on its way"
        assert db.session.scalar(select(Answer).where(Answer.item_name == "hydraulic_pressure")) is None
        db.session.rollback()

        held.pop().continue_()
        expect(item).to_have_class(re.compile(r"item--fail"))
        expect(item.locator(".save-state")).to_have_attribute("data-state", "saved")
        answer = db.session.scalar(select(Answer).where(Answer.item_name == "hydraulic_pressure"))
        assert answer is not None and answer.value == 171
        db.session.rollback()
    finally:
        context.close()


def test_a_filter_picked_before_htmx_loads_runs_its_search_when_it_has(app, users, browser, request):
    auditor = users.auditor.username
    live_server = request.getfixturevalue("live_server")
    context, held, holding = holding_htmx(browser)
    try:
        page = records_page(context, live_server, auditor)
        page.wait_for_load_state("load")
        holding["on"] = True
        page.goto(f"{live_server}/records", wait_until="commit")
        status = page.get_by_label("Status", exact=True)
        status.select_option("signed")
        assert len(held) == 1, "the page's htmx is still on its way"
        expect(page).to_have_url(f"{live_server}/records")
        held.pop().continue_()
        expect(page).to_have_url(f"{live_server}/records?status=signed")
        expect(status).to_have_value("signed")
    finally:
        context.close()
