"""Gzip for text responses: pages, htmx fragments, scripts, styles, JSON, SVG, the manifest.

The app compresses for itself so a tablet on the plant's Wi-Fi gets the fill page in a third of the bytes
with no proxy in front; behind nginx, `FLOORBOOK_GZIP=0` hands the job to `gzip on;` there.

What is never compressed, and why:
- a streamed body (the board's SSE stream, the ZIP and CSV exports): gzip buffers until it has enough to
  emit, and a board tile or ZIP member must leave as soon as it is produced;
- images, PDFs and ZIPs: already compressed, gzip only costs CPU;
- bodies under GZIP_MIN_BYTES: the gzip header and a packet cost more than they save;
- a response that already has a Content-Encoding, or says `Cache-Control: no-transform`.

Static files come from Flask's send_file (a file wrapper, not a stream of events): those are read and
compressed. Their ETag becomes weak (W/"…"), as nginx does: the gzip bytes differ from the file's, and
werkzeug compares If-None-Match weakly, so a revalidation still gets its 304.
"""
import gzip

from flask import Flask, Response, current_app, request

COMPRESSIBLE = frozenset({"application/json", "application/javascript", "application/manifest+json",
                          "application/xml", "image/svg+xml", "text/css", "text/csv", "text/html",
                          "text/javascript", "text/plain", "text/xml"})
FILE_LIMIT = 2 * 1024 * 1024  # a static file larger than this is sent as it is rather than read into memory


def _wants_gzip() -> bool:
    return request.accept_encodings["gzip"] > 0


def _compressible(response: Response) -> bool:
    if response.mimetype not in COMPRESSIBLE or "Content-Encoding" in response.headers:
        return False
    if "no-transform" in response.headers.get("Cache-Control", ""):
        return False
    size = response.content_length
    return size is None or size >= current_app.config["GZIP_MIN_BYTES"]


def _readable_body(response: Response) -> bool:
    # A generator is a stream to be flushed as it goes; send_file's file wrapper is a whole file.
    if response.direct_passthrough:
        return response.content_length is not None and response.content_length <= FILE_LIMIT
    return not response.is_streamed


def _weak_etag(response: Response) -> None:
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)


def compress(response: Response) -> Response:
    """Gzip response when the client accepts it and the body is worth it; Vary always on text types."""
    if not _compressible(response):
        return response
    response.vary.add("Accept-Encoding")
    if not _wants_gzip():
        return response
    if response.status_code == 304:
        _weak_etag(response)  # the 304 names the variant the client holds: the gzip one
        return response
    # 206 is a byte range of the plain file; 1xx, 204 and 304 have no body. Error pages are compressed too.
    bodyless = response.status_code in (204, 206) or response.status_code < 200 or request.method == "HEAD"
    if bodyless or not _readable_body(response):
        return response
    response.direct_passthrough = False
    body = response.get_data()
    if len(body) < current_app.config["GZIP_MIN_BYTES"]:
        return response
    # mtime=0: the same body gives the same bytes, so a cached copy and a fresh one compare equal.
    response.set_data(gzip.compress(body, compresslevel=current_app.config["GZIP_LEVEL"], mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    response.headers.pop("Accept-Ranges", None)  # byte ranges of the file do not address the gzip bytes
    _weak_etag(response)
    return response


def register_compression(app: Flask) -> None:
    """Compress as the last after_request hook (registered first: Flask runs them in reverse), so every
    header the other hooks set is already there and they all see the plain body."""
    if app.config["GZIP"]:
        app.after_request(compress)
