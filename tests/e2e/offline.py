"""Helpers for the offline end-to-end tests: a controlling service worker, the outbox count, going offline."""
import re
import time
from pathlib import Path

from playwright.sync_api import expect

from app.services.core.audit import Actor
from app.services.floor.catalogue import sync_definitions
from tests.e2e.signin import badge_sign_in

ANSWERS = re.compile(r"^/floor/submissions/[^/]+/items/")
FORMS = Path(__file__).resolve().parent.parent / "fixtures" / "forms_offline"


class Gate:
    """In front of the app, as a proxy: while closed, answers get 503 (its app server is down); while
    redirecting, they are sent to a sign-in page of the proxy's own; slow_failures answers hang, then 503."""

    def __init__(self, app):
        self.wsgi, self.closed, self.redirecting, self.slow_failures = app.wsgi_app, False, False, 0
        app.wsgi_app = self

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "POST" and ANSWERS.match(environ["PATH_INFO"]):
            if self.slow_failures:  # the next answers hang for a while, then fail
                self.slow_failures -= 1
                time.sleep(1.5)
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"The app server timed out."]
            if self.closed:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"The app server is restarting."]
            if self.redirecting:
                start_response("302 Found", [("Location", "/proxy/sign-in"), ("Content-Type", "text/plain")])
                return [b"Sign in to the plant network first."]
        if environ["PATH_INFO"] == "/proxy/sign-in":
            start_response("200 OK", [("Content-Type", "text/html")])
            return [b"<!doctype html><title>Plant network</title><h1>Sign in to the plant network</h1>"]
        return self.wsgi(environ, start_response)


def publish_offline_form() -> None:
    """Publish the twenty-item 'Line readings check' for Press 1 (in the test's app context)."""
    report = sync_definitions(FORMS, Actor(None))
    assert not report.problems, report.problems


def wait_for_worker(page, seconds: float = 10) -> None:
    """Until the service worker controls the page.

    It claims open pages when it activates; a page whose load raced that activation is controlled from
    its next load, as on a real tablet, so such a page is reloaded once.
    """
    deadline = time.monotonic() + seconds
    reloaded = False
    while time.monotonic() < deadline:
        state = page.evaluate("() => navigator.serviceWorker.getRegistration()"
                              ".then(r => [!!(r && r.active), !!navigator.serviceWorker.controller])")
        if state[1]:
            return
        if state[0] and not reloaded:
            page.wait_for_timeout(300)
            if not page.evaluate("() => !!navigator.serviceWorker.controller"):
                page.reload()
                reloaded = True
            continue
        page.wait_for_timeout(100)
    raise AssertionError(f"the service worker never took control of the page (active, controlling: {state})")


def outbox_count(page) -> int:
    """What the page's badge counts: the signed-in person's changes still on the tablet."""
    return int(page.locator("body").get_attribute("data-outbox-count") or "0")


def at_station(context, base: str, device_cookie: tuple[str, str], badge: str, pin: str):
    """Badge sign-in on the tablet: the page at the Press 1 station home, the worker in control."""
    page = badge_sign_in(context, base, device_cookie, badge, pin)
    expect(page.get_by_role("heading", name="Press 1")).to_be_visible()
    wait_for_worker(page)
    return page


def open_line_check(context, base: str, device_cookie: tuple[str, str], badge: str, pin: str):
    """Badge sign-in, the worker in control, the Line readings check started online; (page, submission id)."""
    page = at_station(context, base, device_cookie, badge, pin)
    page.get_by_role("button", name="Start Line readings check").tap()
    expect(page.get_by_role("heading", name="Line readings check")).to_be_visible()
    page.wait_for_timeout(300)  # the worker keeps this page for offline use
    return page, page.locator("[data-outbox]").get_attribute("data-submission-id")


def enter(page, name: str, value: str, state: str = "local") -> None:
    """Type a value into an item, leave the field, and wait for its save state."""
    field = page.locator(f"#in-{name}")
    field.tap()
    field.fill(value)
    field.press("Tab")
    expect(page.locator(f"#item-{name} .save-state")).to_have_attribute("data-state", state)


def outbox_length(page) -> int:
    """Every change on the tablet, whoever made it."""
    return page.evaluate("() => window.FloorbookOutbox.all().then(items => items.length)")
