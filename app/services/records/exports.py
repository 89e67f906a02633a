"""Bulk exports for auditors, streamed: answers as CSV, and a ZIP of record PDFs with a CSV index."""
import csv
import gc
import io
import json
import tempfile
import zipfile
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator

from app.canonical import sha256_hex
from app.database import read_only, reading
from app.extensions import db
from app.items import item_type
from app.models import RecordVersion, Submission
from app.models.types import utcnow
from app.services.records import pdf, search
from app.services.records.export_progress import Progress
from app.services.records.record_document import Limits
from app.services.records.search import RecordQuery, current_version

ANSWER_COLUMNS = (
    "record_id", "version", "record_sha256", "form_id", "form_version", "line", "station", "shift_date", "shift",
    "performer", "submitted_at_utc", "section", "item", "label", "type", "value", "unit", "nominal", "lsl", "usl",
    "warn_low", "warn_high", "verdict", "summary", "reason", "action",
)
INDEX_COLUMNS = ("record_id", "version", "sha256", "pdf_sha256", "pdf_file", "form", "station", "submitted_at",
                 "status", "signatures")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CHUNK = 64 * 1024
BATCH = 500  # records per batch: what iter_matching fetches at a time


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def cell(value: Any) -> str:
    """One CSV cell: lists joined with "; ", None empty, and typed text that a spreadsheet would run as a formula quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "; ".join(cell(v) for v in value)
    text = str(value)
    # Operators type reasons and text answers; "=HYPERLINK(…)" must not become a live formula.
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _rows(writer: Any, buffer: io.StringIO, rows: Iterable[Iterable[Any]]) -> str:
    for row in rows:
        writer.writerow([cell(v) for v in row])
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _answer_rows(submission: Submission) -> Iterator[list]:
    version = current_version(submission)
    doc = version.record
    head = [doc.record_id, doc.version, version.sha256, doc.form.id, doc.form.version, doc.line, doc.station,
            doc.shift.date.isoformat(), doc.shift.code, doc.started_by.printed_name if doc.started_by else None,
            doc.submitted_at.isoformat()]
    for item in doc.items:
        # An instruction takes no answer; a hidden item did not apply to this record.
        if not item.visible or not item_type(item.type).answerable:
            continue
        limits = item.limits or Limits()
        yield head + [item.section, item.item, item.label, item.type, item.value, item.unit,
                      *limits.to_dict().values(), item.verdict.state, item.verdict.summary, item.reason, item.action]


def answers_csv(submissions: Iterable[Submission], progress: Progress | None = None) -> Iterator[str]:
    """CSV text, header first, then one row per visible item (instructions aside) of each record's current version."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield _rows(writer, buffer, [ANSWER_COLUMNS])
    for batch in _batches(submissions):
        for submission in batch:
            chunk = _rows(writer, buffer, _answer_rows(submission))
            if progress is not None:
                progress.advance()
            if chunk:
                yield chunk
        _next_batch()


class _Sink:
    """A write-only file that zipfile writes into and the generator drains; no seek, so zipfile streams."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def _drained(sink: _Sink) -> Iterator[bytes]:
    if data := sink.drain():
        yield data


def _zip_time(moment: datetime) -> tuple:
    return moment.astimezone(timezone.utc).timetuple()[:6]


def _signatures(version: RecordVersion) -> str:
    signed = sorted(version.signatures, key=lambda s: s.signed_at)
    return "; ".join(f"{s.printed_name} ({s.role}, {s.meaning}, {s.signed_at.astimezone(timezone.utc).isoformat()})"
                     for s in signed)


def _index_row(submission: Submission, version: RecordVersion, pdf_sha256: str, pdf_file: str) -> list:
    # Form and place as frozen in the record, which is what its PDF shows; read from the JSON document (the
    # typed RecordDocument costs ~1 ms a record to build, five times the rest of a stored PDF's way out).
    doc = json.loads(version.canonical_json)  # not version.document: the export keeps no parsed copy
    submitted = datetime.fromisoformat(doc["submitted_at"]).isoformat()  # as RecordDocument prints it
    return [submission.id, version.version, version.sha256, pdf_sha256, pdf_file,
            f"{doc['form']['id']} v{doc['form']['version']}", f"{doc['line']} · {doc['station']}", submitted,
            submission.status, _signatures(version)]


def zip_stream(submissions: Iterable[Submission], pdf_provider: Callable[[RecordVersion], bytes],
               progress: Progress | None = None) -> Iterator[bytes]:
    """A ZIP streamed member by member: <record_id>-v<n>.pdf for each current version, then index.csv.

    Memory stays flat in the number of records: one batch of rows, one PDF and the bytes not yet sent are
    held (plus zipfile's central directory, ~0.2 KB a member); the index waits in a temporary file. A
    provider with a prefetch(versions) method is told each batch first (StoredPdfs looks them up at once).
    """
    sink = _Sink()
    prefetch = getattr(pdf_provider, "prefetch", None)
    # The index waits in a temporary file (memory up to 1 MiB) until every PDF is out.
    with zipfile.ZipFile(sink, "w") as archive, tempfile.SpooledTemporaryFile(1 << 20, "w+", newline="", encoding="utf-8") as index:
        writer = csv.writer(index)
        writer.writerow(INDEX_COLUMNS)
        for batch in _batches(submissions):
            current = [(submission, current_version(submission)) for submission in batch]
            if prefetch is not None:
                prefetch([version for _submission, version in current])
            for submission, version in current:
                rendered_before = getattr(pdf_provider, "rendered", 0)
                pdf = pdf_provider(version)
                name = f"{submission.id}-v{version.version}.pdf"
                member = zipfile.ZipInfo(name, date_time=_zip_time(version.created_at))
                archive.writestr(member, pdf, compress_type=zipfile.ZIP_STORED)  # PDFs are compressed already
                writer.writerow([cell(v) for v in _index_row(submission, version, sha256_hex(pdf), name)])
                del pdf
                if progress is not None:
                    progress.advance(rendered=getattr(pdf_provider, "rendered", 0) > rendered_before)
                yield from _drained(sink)
            _next_batch()
        index.seek(0)
        member = zipfile.ZipInfo("index.csv", date_time=_zip_time(utcnow()))
        member.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(member, "w") as out:
            while chunk := index.read(_CHUNK):
                out.write(chunk.encode("utf-8"))
                yield from _drained(sink)
    yield from _drained(sink)


def _next_batch() -> None:
    # A fresh snapshot per batch, so a long export does not hold SQLite's WAL back; and the batch's rows go:
    # a loaded submission, its versions and their signatures refer to each other, and such cycles wait for
    # the collector's oldest generation, which runs seldom when much is alive, so memory would grow with
    # the number of records. A full collection per 500 records costs ~0.1 ms a record.
    reading(db.session)
    gc.collect()


def _batches(submissions: Iterable[Submission], size: int = BATCH) -> Iterator[list[Submission]]:
    batch: list[Submission] = []
    for submission in submissions:
        batch.append(submission)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class StoredPdfs:
    """The export's PDFs: each record's stored file for its current state (looked up a batch at a time),
    else rendered on the way by pdf_for, which archives it (and counts it in rendered)."""

    def __init__(self, generated_by: str, base_url: str):
        self.generated_by, self.base_url = generated_by, base_url
        self.rendered = 0
        self._stored: dict[int, str] = {}

    def prefetch(self, versions: list[RecordVersion]) -> None:
        """Look up the stored PDF of each version's current state, in a few queries for the batch."""
        self._stored = pdf.stored_states(versions)

    def __call__(self, version: RecordVersion) -> bytes:
        sha = self._stored.get(version.id)
        if sha is not None:
            try:
                return pdf.read_stored(sha)
            except FileNotFoundError:
                pass  # storage lost it: pdf_for renders it again and mends the row
        self.rendered += 1
        data = pdf.pdf_for(version, self.generated_by, self.base_url).read_bytes()
        reading(db.session)  # pdf_for committed its archive row: the export reads on without the write lock
        return data


def zip_export(query: RecordQuery, run_id: str, user_id: int, generated_by: str, base_url: str) -> Iterator[bytes]:
    """The ZIP of every record matching query, counted in export_run run_id as it streams."""
    read_only(db.session)  # the count, and everything after it, reads without SQLite's write lock
    progress = Progress(run_id, "zip", user_id, search.search_records(query).total)
    return _counted(zip_stream(search.iter_matching(query), StoredPdfs(generated_by, base_url), progress), progress)


def csv_export(query: RecordQuery, run_id: str, user_id: int) -> Iterator[str]:
    """The answers CSV of every record matching query, counted in export_run run_id as it streams."""
    read_only(db.session)
    progress = Progress(run_id, "csv", user_id, search.search_records(query).total)
    return _counted(answers_csv(search.iter_matching(query), progress), progress)


def _counted(stream: Iterator, progress: Progress) -> Iterator:
    read_only(db.session)  # the export reads in one snapshot per batch, never under the write lock
    try:
        yield from stream
    finally:  # the last count, also when the client went away (done then stays below total)
        progress.finish()
