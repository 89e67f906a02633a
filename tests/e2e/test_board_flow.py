"""The board on a TV and a tablet side by side: deviations and downtime reach the tile within 2 s, no reload."""
import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import Area, Line, Station
from app.services.board import boards
from app.services.floor import downtime, reasons
from app.services.core.audit import Actor
from tests.e2e.signin import badge_sign_in

TV = {"viewport": {"width": 1920, "height": 1080}}


def open_board(browser, live_server: str, token: str):
    """A TV context on the kiosk URL, connected to its stream, with a marker that a reload would lose."""
    context = browser.new_context(**TV)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live_server}/board/{token}")
    expect(page.locator("body")).to_have_attribute("data-stream", "open")
    page.evaluate("window.__notReloaded = true")
    return context, page


def test_tablet_changes_reach_the_board_live(app, plant, make_user, users, tablet, tablet_context, browser, request):
    make_user("operator", username="operator1", badge="1001", pin="1234")
    token = boards.create_screen("Hall TV", None, Actor(users.admin.id)).token
    press_id = plant.stations["Press 1"].id
    category = reasons.downtime_tree()[0]
    reason = category.children[0]
    live_server = request.getfixturevalue("live_server")
    tv, board_page = open_board(browser, live_server, token)
    tile = board_page.locator(f"#tile-{press_id}")
    expect(tile).not_to_have_attribute("data-status", "down")

    page = badge_sign_in(tablet_context, live_server, (app.config["DEVICE_COOKIE"], tablet[1]), "1001", "1234")
    page.get_by_role("button", name="Start Press start-of-shift check").tap()
    pressure = page.get_by_label("Hydraulic pressure (bar)")
    pressure.tap()
    pressure.fill("171")
    pressure.press("Tab")
    expect(page.locator("#item-hydraulic_pressure")).to_have_class(re.compile(r"item--fail"), timeout=10_000)

    expect(tile).to_have_attribute("data-status", "attention", timeout=2000)
    expect(tile.locator(".tile-deviation")).to_contain_text("Hydraulic pressure 171", timeout=2000)

    page.goto(f"{live_server}/floor")
    page.get_by_role("link", name="Report downtime").tap()
    page.get_by_text(reason.label, exact=True).tap()
    page.get_by_role("button", name="Start downtime").tap()
    expect(page.get_by_text("DOWN", exact=True)).to_be_visible()
    expect(tile).to_have_attribute("data-status", "down", timeout=2000)
    expect(tile).to_contain_text(reason.label, timeout=2000)
    expect(tile).to_contain_text("DOWN")

    page.goto(f"{live_server}/floor")
    page.get_by_label("What fixed it?").fill("Replaced the hose and topped up the oil")
    page.get_by_role("button", name="Running again").tap()
    expect(tile).not_to_have_attribute("data-status", "down", timeout=2000)
    expect(tile).not_to_contain_text(reason.label)
    assert board_page.evaluate("window.__notReloaded === true")
    tv.close()


def test_board_fits_twenty_stations_without_scrolling(app, plant, users, browser, request):
    area = db.session.get(Area, plant.stations["Press 1"].line.area_id)
    line = Line(name="Line 3", area=area)
    for number in range(1, 15):
        db.session.add(Station(name=f"Cell {number}", line=line))
    db.session.commit()
    token = boards.create_screen("Hall TV", None, Actor(users.admin.id)).token
    live_server = request.getfixturevalue("live_server")
    tv, page = open_board(browser, live_server, token)
    assert page.locator("article.tile").count() == 20
    assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    clipped = page.evaluate("""[...document.querySelectorAll('.tile-name, .tile-status')]
        .filter(e => e.getBoundingClientRect().bottom > e.closest('.tile').getBoundingClientRect().bottom).length""")
    assert clipped == 0
    tv.close()


def test_a_refused_stream_polls_then_connects_by_itself_and_shows_changes_live(app, plant, users, browser, request):
    token, operator_id = boards.create_screen("Hall TV", None, Actor(users.admin.id)).token, users.operator.id
    press_id = plant.stations["Press 2"].id
    code = reasons.downtime_tree()[0].children[0].code
    live_server = request.getfixturevalue("live_server")
    tv = browser.new_context(**TV)
    tv.set_default_timeout(10_000)
    refused = []

    def busy_once(route):  # the first connection meets a server at its stream cap
        if refused:
            return route.continue_()
        refused.append(route.request.url)
        return route.fulfill(status=429, headers={"Retry-After": "3"}, body="too many streams")
    tv.route(re.compile(r".*/board/[^/]+/events.*"), busy_once)
    page = tv.new_page()
    page.goto(f"{live_server}/board/{token}")
    expect(page.locator("body")).to_have_class(re.compile(r"board--polling"))
    expect(page.locator("body")).to_have_attribute("data-stream", "open")
    expect(page.locator("body")).not_to_have_class(re.compile(r"board--polling"))
    assert len(refused) == 1
    downtime.start_downtime(db.session.get(Station, press_id), code, None, Actor(operator_id))
    expect(page.locator(f"#tile-{press_id}")).to_have_attribute("data-status", "down", timeout=2000)
    tv.close()


def test_revoked_board_page_goes_away(app, plant, users, browser, request):
    screen, token = boards.create_screen("Hall TV", None, Actor(users.admin.id))
    screen_id, admin_id = screen.id, users.admin.id
    live_server = request.getfixturevalue("live_server")
    tv, page = open_board(browser, live_server, token)
    from app.models import BoardScreen
    boards.revoke_screen(db.session.get(BoardScreen, screen_id), Actor(admin_id))
    expect(page.get_by_role("heading", name=re.compile("No such board screen"))).to_be_visible(timeout=5000)
    tv.close()


pytestmark = pytest.mark.e2e
