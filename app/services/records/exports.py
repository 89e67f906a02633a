"""Bulk exports for auditors, streamed: answers as CSV, and a ZIP of record PDFs with a CSV index."""
import csv
import io
import tempfile
import zipfile
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator

from app.canonical import sha256_hex
from app.items import item_type
from app.models import RecordVersion, Submission
from app.models.types import utcnow
from app.services.records.record_document import Limits
from app.services.records.search import current_version

ANSWER_COLUMNS = (
    "record_id", "version", "record_sha256", "form_id", "form_version", "line", "station", "shift_date", "shift",
    "performer", "submitted_at_utc", "section", "item", "label", "type", "value", "unit", "nominal", "lsl", "usl",
    "warn_low", "warn_high", "verdict", "summary", "reason", "action",
)
INDEX_COLUMNS = ("record_id", "version", "sha256", "pdf_sha256", "pdf_file", "form", "station", "submitted_at",
                 "status", "signatures")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CHUNK = 64 * 1024


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


def answers_csv(submissions: Iterable[Submission]) -> Iterator[str]:
    """CSV text, header first, then one row per visible item (instructions aside) of each record's current version."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield _rows(writer, buffer, [ANSWER_COLUMNS])
    for submission in submissions:
        chunk = _rows(writer, buffer, _answer_rows(submission))
        if chunk:
            yield chunk


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
    doc = version.record  # form and place as frozen in the record, which is what its PDF shows
    return [submission.id, version.version, version.sha256, pdf_sha256, pdf_file, f"{doc.form.id} v{doc.form.version}",
            f"{doc.line} · {doc.station}", doc.submitted_at.isoformat(),
            submission.status, _signatures(version)]


def zip_stream(submissions: Iterable[Submission], pdf_provider: Callable[[RecordVersion], bytes]) -> Iterator[bytes]:
    """A ZIP streamed member by member: <record_id>-v<n>.pdf for each current version, then index.csv."""
    sink = _Sink()
    # The index waits in a temporary file (memory up to 1 MiB) until every PDF is out.
    with zipfile.ZipFile(sink, "w") as archive, tempfile.SpooledTemporaryFile(1 << 20, "w+", newline="", encoding="utf-8") as index:
        writer = csv.writer(index)
        writer.writerow(INDEX_COLUMNS)
        for submission in submissions:
            version = current_version(submission)
            pdf = pdf_provider(version)
            name = f"{submission.id}-v{version.version}.pdf"
            member = zipfile.ZipInfo(name, date_time=_zip_time(version.created_at))
            archive.writestr(member, pdf, compress_type=zipfile.ZIP_STORED)  # PDFs are compressed already
            writer.writerow([cell(v) for v in _index_row(submission, version, sha256_hex(pdf), name)])
            yield from _drained(sink)
        index.seek(0)
        member = zipfile.ZipInfo("index.csv", date_time=_zip_time(utcnow()))
        member.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(member, "w") as out:
            while chunk := index.read(_CHUNK):
                out.write(chunk.encode("utf-8"))
                yield from _drained(sink)
    yield from _drained(sink)
