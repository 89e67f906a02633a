"""End-to-end fixtures: the app served on loopback from a thread, and Debian's Chromium via Playwright."""
import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
TABLET = {"viewport": {"width": 1280, "height": 800}, "has_touch": True, "device_scale_factor": 1}


@pytest.fixture(scope="session")
def playwright():
    """Playwright for the session."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright):
    """One headless Chromium for the session (never a downloaded browser)."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def installed_tablet(playwright, tmp_path):
    """A tablet browser with a real profile on disk (not incognito, which Chromium never installs from)."""
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, **TABLET)
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def tablet_context(browser):
    """A new browser context shaped like a 10" landscape tablet with touch."""
    context = browser.new_context(**TABLET)
    context.set_default_timeout(10_000)
    yield context
    context.close()

