"""Gzip of text responses: when it happens, when it must not, and that caching and streams still work."""
import gzip

import pytest
from flask import Response

from app.compression import compress
from app.services.board import boards
from app.services.core.audit import Actor
from tests.helpers.sse import EventStream

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
HTMX = "/static/vendor/htmx-2.0.11.min.js"


@pytest.fixture
def operator_on_fill_page(login, users, tablet, start_draft):
    """(client signed in as the operator on the tablet, the draft's fill page URL)."""
    draft = start_draft(users.operator)
    return login(users.operator, tablet=True), f"/floor/submissions/{draft.id}"


def test_fill_page_is_gzipped_when_accepted(operator_on_fill_page):
    """The fill page comes gzipped, with a Content-Length of the gzip bytes, and unzips to the page."""
    client, url = operator_on_fill_page
    plain = client.get(url)
    zipped = client.get(url, headers=GZIP)
    assert zipped.status_code == 200 and zipped.headers["Content-Encoding"] == "gzip"
    assert int(zipped.headers["Content-Length"]) == len(zipped.data) < len(plain.data) / 3
    assert b"<h1" in gzip.decompress(zipped.data) and 'name="csrf-token"' in gzip.decompress(zipped.data).decode()


def test_no_gzip_unless_accepted(operator_on_fill_page):
    """Without Accept-Encoding (or with gzip;q=0) the body is plain, and Vary still says it depends on it."""
    client, url = operator_on_fill_page
    for headers in ({}, {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip;q=0, br"}):
        response = client.get(url, headers=headers)
        assert "Content-Encoding" not in response.headers and response.data.lstrip().startswith(b"<!doctype")
        assert "Accept-Encoding" in response.vary and "HX-Request" in response.vary


@pytest.mark.parametrize("path,mimetype", [(HTMX, "text/javascript"), ("/static/css/fill.css", "text/css"),
                                           ("/static/img/logo.svg", "image/svg+xml"),
                                           ("/manifest.webmanifest", "application/manifest+json"),
                                           ("/sw.js", "text/javascript")])
def test_text_assets_are_gzipped(client, path, mimetype):
    """Scripts, styles, SVG, the manifest and the service worker are gzipped, with Vary: Accept-Encoding."""
    response = client.get(path, headers=GZIP)
    assert response.mimetype == mimetype and response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.vary and int(response.headers["Content-Length"]) == len(response.data)
    assert gzip.decompress(response.data) == client.get(path).data


def test_small_bodies_are_left_alone(client):
    """A body under the threshold (the health check) is sent as it is."""
    response = client.get("/healthz", headers=GZIP)
    assert response.status_code == 200 and len(response.data) < 500
    assert "Content-Encoding" not in response.headers


def test_images_are_left_alone(client):
    """A PNG is already compressed: no Content-Encoding, no Vary on Accept-Encoding."""
    response = client.get("/static/img/icon-512.png", headers=GZIP)
    assert response.status_code == 200 and response.data.startswith(b"\x89PNG")
    assert "Content-Encoding" not in response.headers and "Accept-Encoding" not in response.vary


@pytest.mark.parametrize("mimetype", ["application/pdf", "application/zip", "image/jpeg", "text/event-stream"])
def test_compressed_and_streaming_types_are_left_alone(app, mimetype):
    """PDFs, ZIPs, JPEGs and event streams pass through untouched however large."""
    body = b"%PDF-1.7 " + b"A" * 20_000
    with app.test_request_context(headers=GZIP):
        response = compress(Response(body, mimetype=mimetype))
    assert response.get_data() == body and "Content-Encoding" not in response.headers


def test_a_body_already_encoded_is_left_alone(app):
    """A response that carries its own Content-Encoding is not encoded twice."""
    body = gzip.compress(b"x" * 20_000)
    with app.test_request_context(headers=GZIP):
        response = compress(Response(body, mimetype="text/html", headers={"Content-Encoding": "gzip"}))
    assert response.get_data() == body


def test_static_revalidation_gets_304_with_the_gzip_etag(client):
    """The gzip variant has a weak ETag; sending it back gets a 304 with that same ETag and no body."""
    first = client.get(HTMX, headers=GZIP)
    etag = first.headers["ETag"]
    assert etag.startswith('W/"') and first.headers["Content-Encoding"] == "gzip"
    again = client.get(HTMX, headers={**GZIP, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert "Accept-Encoding" in again.vary
    plain = client.get(HTMX)
    assert not plain.headers["ETag"].startswith("W/")
    assert client.get(HTMX, headers={"If-None-Match": plain.headers["ETag"]}).status_code == 304


def test_a_byte_range_is_of_the_plain_file(client):
    """A Range request gets its 206 from the file's own bytes, not from gzip bytes."""
    whole = client.get(HTMX).data
    part = client.get(HTMX, headers={**GZIP, "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.data == whole[100:200] and "Content-Encoding" not in part.headers


def test_error_pages_are_gzipped(client):
    """A 404 page is text like any other: gzipped when accepted."""
    response = client.get("/no/such/page", headers={**GZIP, "Accept": "text/html"})
    assert response.status_code == 404 and response.headers["Content-Encoding"] == "gzip"
    assert b"</html>" in gzip.decompress(response.data)


def test_last_modified_revalidation_still_gets_304(client):
    """If-Modified-Since works for the gzip variant too."""
    first = client.get("/static/css/fill.css", headers=GZIP)
    again = client.get("/static/css/fill.css", headers={**GZIP, "If-Modified-Since": first.headers["Last-Modified"]})
    assert again.status_code == 304


def test_board_stream_is_not_buffered(app, plant, users, request):
    """A client that accepts gzip still gets each SSE event as it is produced, uncompressed."""
    app.config.update(BOARD_HEARTBEAT_SECONDS=1, BOARD_POLL_SECONDS=0.2)
    token = boards.create_screen("Hall TV", None, Actor(users.admin.id)).token
    live = request.getfixturevalue("live_server")
    stream = EventStream(f"{live}/board/{token}/events?since=0", headers=GZIP)
    try:
        assert stream.status == 200 and "Content-Encoding" not in stream.headers
        beat = stream.next_event("heartbeat", timeout=5)  # the stream is still open: it never ends by itself
        assert beat is not None and "data-site-clock" in beat.data
    finally:
        stream.close()


def test_zip_export_is_still_streamed(login, users):
    """The bulk ZIP export stays a stream, uncompressed by the app, starting with its first member."""
    response = login(users.auditor).get("/records/export.zip", headers=GZIP, buffered=False)
    assert response.status_code == 200 and response.is_streamed
    assert "Content-Encoding" not in response.headers and "Content-Length" not in response.headers
    assert next(response.response).startswith(b"PK\x03\x04")
    response.close()


def test_gzip_can_be_left_to_a_proxy(app_factory_off):
    """FLOORBOOK_GZIP=0 (a proxy compresses): nothing is gzipped by the app."""
    response = app_factory_off.test_client().get(HTMX, headers=GZIP)
    assert response.status_code == 200 and "Content-Encoding" not in response.headers


@pytest.fixture
def app_factory_off(database_url, tmp_path):
    """An app built with GZIP off."""
    from app import create_app
    from app.config import TestingConfig

    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, INSTANCE_PATH=str(tmp_path / "off"),
                      GZIP=False)
