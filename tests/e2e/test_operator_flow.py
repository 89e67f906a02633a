"""The operator's checklist on a tablet, end to end in headless Chromium with touch."""
import json
import re

from playwright.sync_api import expect
from sqlalchemy import select

from app.canonical import sha256_hex
from app.extensions import db
from app.models import Answer, RecordVersion, Submission
from tests.e2e.signin import badge_sign_in, password_sign_in
from tests.helpers.builders import PASSWORD
from tests.helpers.photos import jpeg_with_exif

TAPS = ["Fixed and interlocked guards in place and undamaged",
        "Light curtain stops the ram when broken with the test rod",
        "Two-hand control needs both buttons, and releasing one stops the stroke",
        "Emergency stop halts the press and needs a reset to restart",
        "No oil leaks at the cylinder, hoses or fittings",
        "Lubrication reservoir above the MIN mark"]


def tap_choice(page, group: str, choice: str) -> None:
    """Tap a segment of a check item and wait until the server has saved it."""
    fieldset = page.get_by_role("group", name=re.compile(re.escape(group)))
    fieldset.get_by_text(choice, exact=True).tap()
    item = page.locator(".item", has=page.get_by_role("group", name=re.compile(re.escape(group))))
    expect(item.locator(".save-state")).to_have_attribute("data-state", "saved")


def no_horizontal_scroll(page) -> bool:
    """True when the page settles no wider than the viewport (fonts and images loaded)."""
    page.wait_for_load_state("load")
    for _ in range(30):  # wait_for_function would need eval, which our CSP forbids
        if page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"):
            return True
        page.wait_for_timeout(100)
    return False


def small_targets(page) -> list[str]:
    """Visible buttons, links and inputs smaller than 48×48 CSS px."""
    return page.evaluate("""() => [...document.querySelectorAll('button, a.btn, label.segment, input:not([type=hidden]):not(.segment-input):not(.file-input), textarea, select, label.choice')]
        .filter(e => e.offsetParent !== null)
        .map(e => [e, e.getBoundingClientRect()])
        .filter(([e, r]) => r.width < 48 || r.height < 48)
        .map(([e, r]) => `${e.tagName} ${e.textContent.trim().slice(0, 30)} ${r.width}x${r.height}`)""")


def unlabelled_inputs(page) -> list[str]:
    """Inputs whose accessible name is empty."""
    names = []
    for handle in page.locator("input:not([type=hidden]), textarea, select").all():
        if handle.evaluate("e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')"):
            names.append(handle.evaluate("e => e.outerHTML.slice(0, 80)"))
    return names


def test_operator_fills_the_press_check_on_a_tablet(app, plant, make_user, users, tablet, tablet_context, tmp_path, request):
    """Badge sign-in, tap through, out-of-spec flagged and explained, photo, submit, RecordVersion 1 hashed."""
    make_user("operator", username="operator1", badge="1001", pin="1234")
    live_server = request.getfixturevalue("live_server")
    page = badge_sign_in(tablet_context, live_server, (app.config["DEVICE_COOKIE"], tablet[1]), "1001", "1234")

    expect(page.get_by_role("heading", name="Press 1")).to_be_visible()
    page.get_by_role("button", name="Start Press start-of-shift check").tap()
    expect(page.get_by_role("heading", name="Press start-of-shift check")).to_be_visible()
    assert no_horizontal_scroll(page)
    assert unlabelled_inputs(page) == []

    for label in TAPS:
        tap_choice(page, label, "Pass")
    pressure = page.get_by_label("Hydraulic pressure (bar)")
    expect(pressure).to_have_attribute("inputmode", "decimal")
    pressure.tap()
    pressure.fill("171")
    pressure.press("Tab")
    item = page.locator("#item-hydraulic_pressure")
    expect(item).to_have_class(re.compile(r"item--fail"))
    expect(item.get_by_text("Out of spec")).to_be_visible()
    why = page.get_by_label("Why is the pressure out of range, and what did you do?")
    why.fill("Relief valve drifted after warm-up")
    page.locator("#item-hydraulic_pressure").get_by_label("Action taken").fill("Maintenance re-set the valve; re-read 151 bar")
    page.get_by_role("button", name="Save reason").tap()
    expect(page.locator("#item-hydraulic_pressure .why-box textarea").first).to_have_value("Relief valve drifted after warm-up")

    photo = tmp_path / "guard.jpg"
    photo.write_bytes(jpeg_with_exif((320, 240)))
    page.locator("#in-guard_photo").set_input_files(str(photo))
    expect(page.get_by_role("img", name="Photo for Photo of the guard")).to_be_visible()
    expect(page.locator(".progress-text")).to_have_text("10 of 10 done")  # eight required answers, the reason and the action
    assert small_targets(page) == []

    page.get_by_role("button", name="Submit checklist").tap()
    expect(page.get_by_text("Submitted as record version 1")).to_be_visible()

    submission = db.session.scalar(select(Submission))
    version = db.session.scalar(select(RecordVersion).where(RecordVersion.submission_id == submission.id))
    assert submission.status == "submitted" and submission.started_by.username == "operator1"
    assert version.version == 1 and version.sha256 == sha256_hex(version.canonical_json)
    document = json.loads(version.canonical_json)
    pressure_item = next(i for i in document["items"] if i["item"] == "hydraulic_pressure")
    assert pressure_item["value"] == 171 and pressure_item["verdict"]["state"] == "fail"
    assert pressure_item["reason"] == "Relief valve drifted after warm-up"
    assert db.session.scalar(select(Answer).where(Answer.item_name == "guard_photo")).value


def test_fill_page_fits_a_portrait_tablet(app, plant, users, start_draft, browser, request):
    """At 800×1280 the fill page does not scroll sideways and every target is at least 48 px."""
    draft_id = start_draft(users.operator).id
    live_server = request.getfixturevalue("live_server")
    context = browser.new_context(viewport={"width": 800, "height": 1280}, has_touch=True)
    page = password_sign_in(context, live_server, "t-operator", PASSWORD)
    expect(page.get_by_role("heading", name="Choose your station")).to_be_visible()
    page.goto(f"{live_server}/floor/submissions/{draft_id}")
    expect(page.get_by_role("heading", name="Press start-of-shift check")).to_be_visible()
    assert no_horizontal_scroll(page)
    assert small_targets(page) == []
    context.close()
