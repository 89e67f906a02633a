"""A scan item on a tablet, in headless Chromium: typed codes are refused by pattern, fail on a mismatch, pass."""
import re

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Answer
from tests.e2e.signin import badge_sign_in

FORM = "First-article inspection, stamped bracket"


def type_code(page, label: str, code: str):
    """Type a code into a scan item as a person would and leave the field; returns the item."""
    field = page.get_by_role("textbox", name=re.compile("^" + re.escape(label)))
    field.tap()
    field.fill(code)
    field.press("Tab")
    return page.locator(".item", has=field)


def test_operator_scans_codes_by_typing_them(app, plant, make_user, tablet, tablet_context, request):
    """Pattern miss refused with the pattern named; a code unlike the traveller's fails and asks why; the right one passes."""
    make_user("operator", username="operator5", badge="1005", pin="1234")
    live_server = request.getfixturevalue("live_server")
    page = badge_sign_in(tablet_context, live_server, (app.config["DEVICE_COOKIE"], tablet[1]), "1005", "1234")
    page.get_by_role("button", name=f"Start {FORM}").tap()
    expect(page.get_by_role("heading", name=FORM)).to_be_visible()
    # Headless Chromium on Linux has no BarcodeDetector: the camera button stays hidden, typing works.
    expect(page.get_by_role("button", name="Scan with camera")).to_have_count(0)

    traveller = type_code(page, "Part number and revision (traveller)", "BR-21")
    expect(traveller.get_by_role("alert")).to_have_text(
        "'BR-21' is not a valid code: expected the pattern BR-2[0-9]{2}-[A-Z], such as BR-214-C")

    traveller = type_code(page, "Part number and revision (traveller)", "BR-214-C")
    expect(traveller.locator(".save-state")).to_have_attribute("data-state", "saved")
    expect(traveller.get_by_role("alert")).to_have_count(0)

    label = type_code(page, "Part number on the first part's label", "BR-215-C")
    expect(label).to_have_class(re.compile(r"item--fail"))
    expect(label.get_by_text("Out of spec")).to_be_visible()
    expect(label.get_by_text("BR-215-C, expected BR-214-C")).to_be_visible()
    expect(label.get_by_label("The part is not the one the traveller asks for. What was found, and what was done?")) \
        .to_be_visible()
    expect(label.get_by_role("button", name="Save reason")).to_be_visible()

    label = type_code(page, "Part number on the first part's label", "BR-214-C")
    expect(label).to_have_class(re.compile(r"item--ok"))
    expect(label.get_by_text("BR-214-C, as expected")).to_be_visible()
    expect(label.get_by_role("button", name="Save reason")).to_have_count(0)
    with app.app_context():
        stored = db.session.scalar(select(Answer).where(Answer.item_name == "part_label"))
        assert (stored.value, stored.state) == ("BR-214-C", "ok")


# Chromium on Android has BarcodeDetector and a camera; this headless one has neither, so the page gets a
# stand-in detector that "sees" one code, and a camera stream drawn on a canvas.
FAKE_CAMERA = """
window.BarcodeDetector = class { async detect() { return [{ rawValue: "CL-240318" }]; } };
navigator.mediaDevices.getUserMedia = async () => {
  const canvas = document.createElement("canvas");
  canvas.width = 64; canvas.height = 48;
  canvas.getContext("2d").fillRect(0, 0, 64, 48);
  return canvas.captureStream(5);
};
"""


def test_a_code_read_by_the_camera_is_saved_like_a_typed_one(app, plant, make_user, tablet, tablet_context, request):
    """Where BarcodeDetector exists the camera button shows; the code it reads lands in the field and is saved."""
    tablet_context.add_init_script(FAKE_CAMERA)
    make_user("operator", username="operator6", badge="1006", pin="1234")
    live_server = request.getfixturevalue("live_server")
    page = badge_sign_in(tablet_context, live_server, (app.config["DEVICE_COOKIE"], tablet[1]), "1006", "1234")
    page.get_by_role("button", name=f"Start {FORM}").tap()
    lot = page.locator("#item-coil_lot")
    lot.get_by_role("button", name="Scan with camera").tap()
    expect(lot.get_by_role("textbox", name=re.compile("^Coil lot number"))).to_have_value("CL-240318")
    expect(lot.locator(".save-state")).to_have_attribute("data-state", "saved")
    with app.app_context():
        assert db.session.scalar(select(Answer.value_json).where(Answer.item_name == "coil_lot")) == '"CL-240318"'
    # After the swap the new item's camera button is shown again.
    expect(page.locator("#item-coil_lot").get_by_role("button", name="Scan with camera")).to_be_visible()
