"""Helpers for the offline end-to-end tests: a controlling service worker, the outbox count, going offline."""
import time
from pathlib import Path

from app.services.audit import Actor
from app.services.catalogue import sync_definitions

FORMS = Path(__file__).resolve().parent.parent / "fixtures" / "forms_offline"


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
