"""What the fill page costs over the tablet's Wi-Fi: gzip on a first load, caches on the next."""
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import TABLET
from tests.e2e.offline import wait_for_worker
from tests.e2e.signin import badge_sign_in

FIRST_LOAD_LIMIT = 100 * 1024
# Bytes on the wire (headers + encoded body) of the page and every file it loaded; 0 for a cache hit.
TRANSFERRED = """() => performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource"))
  .map((e) => [new URL(e.name).pathname, e.transferSize, e.encodedBodySize, e.decodedBodySize])"""


@pytest.fixture
def signed_in_cookies(browser, app, make_user, tablet, start_draft, request):
    """(live server, the operator's cookies from a badge sign-in on the Press 1 tablet, a draft's fill page path)."""
    operator = make_user("operator", username="operator1", badge="1001", pin="1234")
    fill_path = f"/floor/submissions/{start_draft(operator).id}"
    live = request.getfixturevalue("live_server")
    context = browser.new_context(**TABLET)
    context.set_default_timeout(10_000)
    page = badge_sign_in(context, live, (app.config["DEVICE_COOKIE"], tablet[1]), "1001", "1234")
    expect(page.get_by_role("heading", name="Press 1")).to_be_visible()
    cookies = context.cookies()
    context.close()
    return live, cookies, fill_path


def open_fill_page(page, url: str) -> list:
    """Load the fill page as the operator sees it; the transfer of the page and each file it loaded."""
    page.goto(url)
    expect(page.get_by_role("heading", name="Press start-of-shift check")).to_be_visible()
    page.wait_for_load_state("load")
    return page.evaluate(TRANSFERRED)


def fresh_tablet(browser, cookies, **options):
    """A tablet context with an empty cache, signed in by the given cookies."""
    context = browser.new_context(**TABLET, **options)
    context.set_default_timeout(10_000)
    context.add_cookies(cookies)
    return context


def test_first_load_is_under_100_kb_and_repeat_loads_revalidate(browser, signed_in_cookies):
    """Empty cache: page + htmx + CSS + scripts + icons come to ≤ 100 KB; the next load gets 304s for the files."""
    live, cookies, fill_path = signed_in_cookies
    context = fresh_tablet(browser, cookies, service_workers="block")  # the HTTP cache alone
    page = context.new_page()
    first = open_fill_page(page, live + fill_path)
    total = sum(size for _, size, _, _ in first)
    assert any(path.endswith("htmx-2.0.11.min.js") and encoded < decoded for path, _, encoded, decoded in first)
    assert total <= FIRST_LOAD_LIMIT, f"{total} bytes over the network: {first}"
    again = open_fill_page(page, live + fill_path)
    files = [(path, size) for path, size, _, _ in again if path.startswith("/static/")]
    assert files and all(size < 1024 for _, size in files), files  # revalidated: headers only
    assert sum(size for _, size, _, _ in again) < total / 2
    context.close()


def test_repeat_load_under_the_service_worker_fetches_no_static_file(browser, signed_in_cookies):
    """Once the service worker controls the tablet, the next load takes every shell file from its cache."""
    live, cookies, fill_path = signed_in_cookies
    context = fresh_tablet(browser, cookies)
    page = context.new_page()
    open_fill_page(page, live + fill_path)
    wait_for_worker(page)
    fetched: list[str] = []
    page.on("requestfinished", lambda r: fetched.append(r.url) if "/static/" in r.url and not r.service_worker
            and r.response() and not r.response().from_service_worker else None)
    again = open_fill_page(page, live + fill_path)
    assert [path for path, *_ in again if path.startswith("/static/")]  # the page did load its files
    assert fetched == []
    context.close()
