"""The bulk export in headless Chromium: a click downloads the ZIP while the line beside the button counts it."""
import zipfile

from playwright.sync_api import expect

from tests.e2e.test_search_flow import records_page
from tests.test_bulk_export import clone_signed, seed_stored_pdfs, signed_with_stored_pdf
from tests.test_signing import as_user, sign  # noqa: F401  (fixture and helper)

COUNT = 300


def test_download_zip_counts_the_records_then_says_done(app, users, make_record, db, as_user, tablet_context,
                                                         request, tmp_path):
    """Download ZIP of PDFs saves every record's PDF; its status line polls until 'Done: 300 of 300 records.'"""
    record, _first, template, _ran = signed_with_stored_pdf(app, db, as_user, users, make_record)
    clones = clone_signed(db, record, COUNT)
    seed_stored_pdfs(db, clones, template)
    auditor = users.auditor.username
    live_server = request.getfixturevalue("live_server")
    page = records_page(tablet_context, live_server, auditor)
    page.get_by_label("Status", exact=True).select_option("signed")
    expect(page).to_have_url(f"{live_server}/records?status=signed")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download ZIP of PDFs").click()
    target = tmp_path / "export.zip"
    download.value.save_as(target)
    status = page.locator("#export-zip").get_by_role("status")
    expect(status).to_have_text("Done: 300 of 300 records.", timeout=15_000)
    names = zipfile.ZipFile(target).namelist()
    assert len([n for n in names if n.endswith(".pdf")]) == COUNT and names[-1] == "index.csv"
