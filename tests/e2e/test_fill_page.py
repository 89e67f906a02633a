"""The fill page on a tablet, in both orientations with touch: what stops a submit, progress, offline answers, CSP."""
import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Answer
from tests.e2e.offline import wait_for_worker
from tests.e2e.signin import badge_sign_in

VIEWPORTS = {"landscape": {"width": 1280, "height": 800}, "portrait": {"width": 800, "height": 1280}}
PASSES = ["Light curtain stops the ram when broken with the test rod",
          "Two-hand control needs both buttons, and releasing one stops the stroke"]

# Console messages and CSP reports, collected from the first script that runs on every page.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture(params=list(VIEWPORTS))
def tablet_page(request, browser, app, plant, make_user, tablet):
    """The operator signed in by badge on the Press 1 tablet, in one orientation, with touch;
    (page, console problems seen, viewport)."""
    make_user("operator", username="operator1", badge="1001", pin="1234")
    live_server = request.getfixturevalue("live_server")
    viewport = VIEWPORTS[request.param]
    context = browser.new_context(viewport=viewport, has_touch=True, device_scale_factor=1)
    context.set_default_timeout(10_000)
    context.add_init_script(WATCH_CSP)
    problems: list[str] = []
    context.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page = badge_sign_in(context, live_server, (app.config["DEVICE_COOKIE"], tablet[1]), "1001", "1234")
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page, problems, viewport
    context.close()


def start_press_check(page) -> None:
    """Start the press check from the station home."""
    expect(page.get_by_role("heading", name="Press 1")).to_be_visible()
    page.get_by_role("button", name="Start Press start-of-shift check").tap()
    expect(page.get_by_role("heading", name="Press start-of-shift check")).to_be_visible()


def tap_pass(page, group: str, state: str = "saved") -> None:
    """Tap Pass on a check item and wait for its save state."""
    page.get_by_role("group", name=re.compile(re.escape(group))).get_by_text("Pass", exact=True).tap()
    item = page.locator(".item", has=page.get_by_role("group", name=re.compile(re.escape(group))))
    expect(item.locator(".save-state")).to_have_attribute("data-state", state)


def box(locator) -> dict:
    """The element's bounding box in CSS px of the viewport."""
    found = locator.bounding_box()
    assert found is not None, "not rendered"
    return found


def progress_numbers(page) -> tuple[int, int]:
    """(done, of) from the progress bar's text."""
    text = page.locator(".progress-text").inner_text()
    done, of = re.fullmatch(r"(\d+) of (\d+) done", text.strip()).groups()
    return int(done), int(of)


def uncovered(page, locator) -> bool:
    """The element at the centre of locator is locator itself (or inside it): nothing sticky covers it."""
    return locator.evaluate("""e => { const r = e.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return !!hit && (hit === e || e.contains(hit)); }""")


def test_refused_submit_lists_what_is_missing_in_a_third_and_jumps_to_each(tablet_page):
    """After a refused submit the list fits in a third of the screen and folds; an entry brings its item,
    Save reason included, fully between the sticky bars; progress agrees with the list; no CSP violation."""
    page, problems, viewport = tablet_page
    start_press_check(page)
    for label in PASSES:
        tap_pass(page, label)
    pressure = page.get_by_label("Hydraulic pressure (bar)")
    pressure.tap()
    pressure.fill("171")
    pressure.press("Tab")
    expect(page.locator("#item-hydraulic_pressure")).to_have_class(re.compile(r"item--fail"))

    page.get_by_role("button", name="Submit checklist").tap()
    result = page.locator("#submit-result")
    expect(result).to_contain_text("Not submitted yet")
    entries = result.get_by_role("link")
    count = entries.count()
    done, of = progress_numbers(page)
    assert of - done == count > 0, (done, of, count)
    assert box(result)["height"] <= viewport["height"] / 3 + 0.5

    summary = result.locator("summary")
    summary.tap()
    expect(entries.first).to_be_hidden()
    assert box(result)["height"] <= viewport["height"] / 3
    summary.tap()
    expect(entries.first).to_be_visible()

    entry = result.get_by_role("link", name="Hydraulic pressure: needs a reason for the failure")
    entry.tap()
    item = page.locator("#item-hydraulic_pressure")
    save_reason = item.get_by_role("button", name="Save reason")
    expect(save_reason).to_be_in_viewport()
    header, bar, shown = box(page.locator(".fill-header")), box(page.locator(".submit-bar")), box(item)
    assert shown["y"] >= header["y"] + header["height"] - 0.5, (shown, header)
    assert shown["y"] + shown["height"] <= bar["y"] + 0.5, (shown, bar)
    assert uncovered(page, save_reason)
    expect(item.get_by_label("Why is the pressure out of range, and what did you do?")).to_be_focused()

    # Keyboard: the summary folds and unfolds with Enter, an entry is followed with Enter.
    summary.focus()
    summary.press("Enter")
    expect(entries.first).to_be_visible()
    result.get_by_role("link", name=re.compile("^Emergency stop")).focus()
    page.keyboard.press("Enter")
    emergency = page.locator("#item-emergency_stop")
    expect(emergency.get_by_text("Pass", exact=True)).to_be_in_viewport()
    assert uncovered(page, emergency.get_by_text("Pass", exact=True))
    expect(emergency.locator("input[value=pass]")).to_be_focused()

    assert page.evaluate("window.__cspViolations") == []
    assert not [p for p in problems if "Content Security Policy" in p or "violates" in p], problems


def test_offline_answers_show_as_answered_move_progress_and_arrive_with_the_tablets_time(tablet_page):
    """Offline, a tapped check and a typed number show as answered and kept on the tablet, the progress bar
    moves (a local out of spec asks for its reason, which counts once given); back online the number reaches
    the server dated by the tablet, and the server's progress takes over."""
    page, problems, _viewport = tablet_page
    start_press_check(page)
    progress = page.locator(".progress-text")
    expect(progress).to_have_text("0 of 8 done")
    # As on a tablet in use: the worker controls the page and the outbox has read what it keeps (its badge
    # shows 0) before the connection goes; a tap before that would be a plain failed request.
    wait_for_worker(page)
    expect(page.locator("body")).to_have_attribute("data-outbox-count", "0")
    page.context.set_offline(True)
    before = datetime.now(timezone.utc)

    tap_pass(page, PASSES[0], state="local")
    check = page.locator(".item", has=page.get_by_role("group", name=re.compile(re.escape(PASSES[0]))))
    expect(check.locator(".item-state")).to_have_text("✓ Pass")
    expect(check.locator(".save-state")).to_contain_text("Saved on this tablet, waiting to send")
    expect(check.get_by_role("radio", name="Pass")).to_be_checked()
    expect(progress).to_have_text("1 of 8 done")

    pressure = page.get_by_label("Hydraulic pressure (bar)")
    pressure.tap()
    pressure.fill("171")
    pressure.press("Tab")
    item = page.locator("#item-hydraulic_pressure")
    expect(item.locator(".save-state")).to_contain_text("Saved on this tablet, waiting to send")
    expect(item.locator(".item-state")).to_have_text("✗ Out of spec")
    expect(pressure).to_have_value("171")
    expect(progress).to_have_text("2 of 9 done")
    item.get_by_label("Why is the pressure out of range, and what did you do?").fill("Relief valve drifted")
    item.get_by_role("button", name="Save reason").tap()
    expect(progress).to_have_text("3 of 9 done")

    page.context.set_offline(False)
    expect(page.locator("body")).to_have_attribute("data-outbox-count", "0")
    expect(item.locator(".save-state")).to_have_attribute("data-state", "saved")
    page.reload()  # whoever sent them (this page or the service worker), the server's counts now
    expect(progress).to_have_text("3 of 10 done")  # the server also asks for the action taken
    answer = db.session.scalar(select(Answer).where(Answer.item_name == "hydraulic_pressure"))
    kept_at = datetime.fromisoformat(answer.device_time)
    assert answer.value == 171 and before - timedelta(seconds=1) <= kept_at <= datetime.now(timezone.utc)
    db.session.rollback()
    assert page.evaluate("window.__cspViolations") == []
    assert not [p for p in problems if "Content Security Policy" in p or "violates" in p], problems
