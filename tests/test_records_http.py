"""Records over HTTP: PDFs at the public URLs, verification of a downloaded PDF, corrections in the PDF."""
import io

import pytest
from pypdf import PdfReader

from app import create_app
from app.config import TestingConfig

from tests.test_corrections import correct
from tests.test_signing import as_user, sign  # noqa: F401  (fixture and helper)


def pdf_text(data: bytes) -> str:
    """All text of a PDF."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def verify_upload(client, data: bytes) -> str:
    """POST a PDF to /verify as the page's form does; the page's HTML."""
    response = client.post_form("/verify", {"pdf": (io.BytesIO(data), "record.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_record_pdf_urls_and_verification(as_user, client, users, make_record):
    """/records/<id>.pdf and /v1.pdf serve the signed PDF; /verify calls it genuine and current; after a
    correction the v1 PDF is genuine but superseded, and the v2 PDF prints old/new/who/when/why."""
    record = make_record(users.operator)
    sign(as_user(users.inspector), record)
    auditor = as_user(users.auditor)
    current = auditor.get(f"/records/{record.id}.pdf")
    assert current.status_code == 200 and current.mimetype == "application/pdf"
    assert auditor.get(f"/records/{record.id}/v1.pdf").data == current.data  # stored once, served again
    assert 'data-status="current"' in verify_upload(client, current.data)
    assert 'data-status="current"' in client.get(f"/verify?sha256={record.versions[0].sha256}").get_data(as_text=True)

    assert correct(as_user(users.supervisor), record).status_code == 303
    assert "superseded by version 2" in verify_upload(client, current.data).replace("Version", "version")
    v2 = auditor.get(f"/records/{record.id}.pdf")
    text = pdf_text(v2.data)
    assert "Gauge misread" in text and "150" in text and "152" in text and users.supervisor.printed_name in text
    assert "NOT SIGNED" in text  # version 2 waits for its signature again


def test_unknown_hash_and_missing_file(client):
    """A hash nobody issued is unknown; posting no file gets a clear 422."""
    assert 'data-status="unknown"' in client.get(f"/verify?sha256={'ab' * 32}").get_data(as_text=True)
    response = client.post_form("/verify", {})
    assert response.status_code == 422 and "Choose a PDF file" in response.get_data(as_text=True)


def test_pdf_of_unknown_record_is_404(as_user, users):
    """An unknown record id gets 404 on every record URL."""
    auditor = as_user(users.auditor)
    missing = "00000000-0000-4000-8000-000000000000"
    for url in (f"/records/{missing}", f"/records/{missing}.pdf", f"/records/{missing}/v1.pdf"):
        assert auditor.get(url).status_code == 404


def test_pdfs_print_the_public_url_whatever_host_was_asked(as_user, users, make_record, app):
    """With FLOORBOOK_PUBLIC_URL set, a request sent with another Host header (the PDF is stored and
    served to everyone after) still prints the plant's own verify link."""
    app.config["PUBLIC_URL"] = "https://floorbook.plant.example/"
    record = make_record(users.operator)
    sign(as_user(users.inspector), record)
    auditor, wsgi = as_user(users.auditor), app.wsgi_app
    app.wsgi_app = lambda environ, start: wsgi({**environ, "HTTP_HOST": "evil.example"}, start)  # as sent
    response = auditor.get(f"/records/{record.id}.pdf")
    app.wsgi_app = wsgi
    assert response.status_code == 200
    text = pdf_text(response.data).replace("\n", "")
    assert f"https://floorbook.plant.example/verify?sha256={record.versions[0].sha256}" in text
    assert "evil.example" not in text


@pytest.mark.parametrize("bad", ["floorbook.plant.example", "ftp://floorbook.plant.example", "https://"])
def test_a_public_url_that_is_not_an_address_stops_start_up(tmp_path, database_url, bad):
    """FLOORBOOK_PUBLIC_URL is checked at start-up and the message says what is expected."""
    with pytest.raises(RuntimeError, match=r"FLOORBOOK_PUBLIC_URL=.* expected http\(s\)://host\[:port\]"):
        create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, INSTANCE_PATH=str(tmp_path / "i"), PUBLIC_URL=bad)
