"""The verify page in Chromium: upload a forged PDF and read the answer through its accessible names."""
import pytest
from playwright.sync_api import expect

from tests.test_verify import high_pressure, with_page_text_changed  # noqa: F401  (fixture and helper)

pytestmark = pytest.mark.e2e


def test_verify_page_reads_out_its_answer(high_pressure, tablet_context, request, tmp_path):
    """A forged PDF uploaded by its label: the answer is a region named by its verdict, linking the archived
    copy; a text that is not a sha256 comes back as an alert, and the field describes what it expects."""
    version, data = high_pressure
    record_id = version.submission_id
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(with_page_text_changed(data, "176.0", "156.0"))
    live_server = request.getfixturevalue("live_server")
    page = tablet_context.new_page()
    page.goto(f"{live_server}/verify")
    page.get_by_label("Record PDF").set_input_files(str(forged))
    page.get_by_role("button", name="Check the PDF").tap()
    answer = page.get_by_role("region", name="✗ Not the archived copy")
    expect(answer).to_be_visible()
    expect(answer.get_by_role("link", name="Download the archived copy of version 1")).to_have_attribute(
        "href", f"/records/{record_id}/v1.pdf")
    page.get_by_label("sha256 printed on the record, or of an archived PDF file").fill("not-a-hash")
    page.evaluate("document.querySelector('#sha256').removeAttribute('pattern')")
    page.get_by_role("button", name="Check the hash").tap()
    expect(page.get_by_role("alert")).to_have_text("That is not a sha256.")
    field = page.get_by_label("sha256 printed on the record, or of an archived PDF file")
    expect(field).to_have_accessible_description("Expected 64 hexadecimal characters.")
