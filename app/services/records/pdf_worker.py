"""WeasyPrint in its own process: a fetcher that reads only our files, and the PDF/A-3b render call."""
import mimetypes
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

# Only the worker process imports WeasyPrint (about 50 MB of libraries and caches), never the web process.
RENDER_TIMEOUT_S = 180  # a 50-page record takes ~9 s on one core; far beyond that the worker is stuck
TASKS_PER_WORKER = 50  # WeasyPrint has leaked memory in past releases: recycle the process now and then

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def restricted_fetcher(allowed_roots: list[str]):
    """A URLFetcher that serves data: URLs and files under allowed_roots, and refuses anything else."""
    from weasyprint import URLFetcher
    from weasyprint.urls import URLFetcherResponse

    roots = [Path(root).resolve() for root in allowed_roots]

    class RestrictedFetcher(URLFetcher):
        """Refuses http(s), ftp and files outside our static folder and stored attachments."""

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme != "file" or parts.netloc not in ("", "localhost"):
                raise ValueError(f"refused: {url[:80]}")
            # resolve() follows ".." and symlinks, so neither can lead out of an allowed root.
            path = Path(url2pathname(unquote(parts.path))).resolve()
            if not any(path.is_relative_to(root) for root in roots) or not path.is_file():
                raise ValueError(f"refused: {url[:80]}")
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": kind})

    return RestrictedFetcher(allowed_protocols={"data", "file"})


def render_pdf(html: str, base_url: str, allowed_roots: list[str], record_json: str, identifier: bytes) -> bytes:
    """Render html as PDF/A-3b with record_json attached as record.json; runs inside the worker process."""
    import weasyprint

    fetcher = restricted_fetcher(allowed_roots)
    # Bytes, not str: the attachment must be exactly the canonical UTF-8 so that its sha256 is the record's.
    attachment = weasyprint.Attachment(string=record_json.encode("utf-8"), name="record.json",
                                       description="Canonical JSON of this record version",
                                       relationship="Source", url_fetcher=fetcher)
    document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher)
    return document.write_pdf(pdf_variant="pdf/a-3b", pdf_identifier=identifier, attachments=[attachment],
                              dpi=200, jpeg_quality=85)


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # spawn, not fork: a forked copy of a threaded web worker can inherit held locks.
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"),
                                        max_tasks_per_child=TASKS_PER_WORKER)
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def render_in_worker(html: str, base_url: str, allowed_roots: list[str], record_json: str, identifier: bytes) -> bytes:
    """Run render_pdf in the PDF worker process and wait for its bytes; a crashed worker is replaced once."""
    for attempt in (1, 2):
        pool = _executor()
        try:
            future = pool.submit(render_pdf, html, base_url, allowed_roots, record_json, identifier)
            return future.result(timeout=RENDER_TIMEOUT_S)
        except BrokenProcessPool:
            _discard(pool)
            if attempt == 2:
                raise
        except TimeoutError:
            # The stuck render keeps its process until it ends; later renders get a fresh worker.
            _discard(pool)
            raise
    raise AssertionError("unreachable")
