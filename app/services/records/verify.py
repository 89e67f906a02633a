"""What the /verify page can vouch for, about an uploaded PDF or a sha256 someone typed in.

*Genuine* means one thing only: the uploaded file is byte for byte a PDF the plant archived (any version of
any record, in any of its states). Every PDF the app serves or exports is archived first, with a rendered_pdf
row naming its sha256 (records/pdf.py, pdf_for), so that row is the proof, looked up by the file's own hash.

A PDF whose embedded record.json is one of our record versions but whose bytes are not archived proves only
its attachment: its pages can show anything, the record's sha256 printed on them included (anyone can print
it). The answer names that record and its archived copy and never says genuine. A typed-in sha256 is
answered for what it is the hash of: a record version's canonical JSON (printed on every page, so it says
nothing about the pages it is printed on), or an archived PDF file (a file is that copy only if its own
sha256 is this one).
"""
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pypdf import PdfReader
from sqlalchemy import select

from app.canonical import sha256_hex
from app.extensions import db
from app.models import RecordVersion, RenderedPdf
from app.models.types import utcnow
from app.services.core.errors import DomainError
from app.services.records.pdf import latest_version_number, state_key

ATTACHMENT_NAME = "record.json"
HEX64 = re.compile(r"[0-9a-f]{64}")

# What the check found: the uploaded file itself, only the record embedded in it, a hash, or nothing of ours.
Match = Literal["archived_pdf", "embedded_record", "record_sha256", "pdf_sha256", "none"]


@dataclass(frozen=True)
class Verification:
    """One answer of the verify page: what matched, the record version it names, and a sentence for people."""

    match: Match
    status: Literal["current", "superseded", "unknown"]
    message: str
    record_id: str | None = None
    version: int | None = None
    latest_version: int | None = None
    record_sha256: str | None = None  # the canonical JSON's hash, the one printed on every page
    file_sha256: str | None = None  # the uploaded file's hash, or the archived PDF a typed-in hash names
    archived_at: datetime | None = None  # when the PDF with file_sha256 was archived (None: it was not)
    state_changed: bool = False  # the archived PDF predates signatures or deviation steps of its version
    checked_at: datetime = field(default_factory=utcnow)

    @property
    def genuine(self) -> bool:
        """True only for an uploaded file that is byte for byte a PDF the plant archived."""
        return self.match == "archived_pdf"

    @property
    def headline(self) -> str:
        """The verdict in a few words; the tick is kept for a genuine file of the current version."""
        latest = f"superseded by version {self.latest_version}"
        if self.match == "archived_pdf":
            return "✓ Genuine, current version" if self.status == "current" else f"! Genuine, but {latest}"
        if self.match == "embedded_record":
            return "✗ Not the archived copy"
        if self.match in ("record_sha256", "pdf_sha256"):
            what = "Record version" if self.match == "record_sha256" else "Archived PDF file"
            return f"{what} found, {'current version' if self.status == 'current' else latest}"
        return "✗ Not a Floorbook record"

    @property
    def tone(self) -> Literal["ok", "warn", "error", "info"]:
        """How the answer is shown: ok (green) only for a genuine current file, error when the pages are
        not ours or nothing is, warn for a superseded version, info for a hash found."""
        if self.match in ("embedded_record", "none"):
            return "error"
        if self.status == "superseded":
            return "warn"
        return "ok" if self.match == "archived_pdf" else "info"

    @property
    def offers_archived_copy(self) -> bool:
        """True when the person should fetch the archived copy of this version to read the record from."""
        return self.match in ("embedded_record", "record_sha256") or self.state_changed

    @property
    def offers_current_copy(self) -> bool:
        """True when a newer version exists: its archived copy is the record as it stands."""
        return self.status == "superseded"


def not_ours(why: str, file_sha256: str | None = None) -> Verification:
    """A 'not a Floorbook record' answer saying why."""
    return Verification("none", "unknown", f"Not a Floorbook record: {why}.", file_sha256=file_sha256)


def _standing(version: RecordVersion) -> tuple[Literal["current", "superseded"], int, str]:
    """current or superseded, the newest version number, and the clause that says which."""
    latest = latest_version_number(version.submission_id)
    if latest > version.version:
        return "superseded", latest, f"superseded by version {latest}"
    return "current", latest, "the current version"


def _names(version: RecordVersion) -> str:
    return f"record {version.submission_id}, version {version.version}"


def _archived(row: RenderedPdf, match: Match, file_sha256: str) -> Verification:
    """The answer for an archived PDF file: uploaded (genuine) or named by its sha256 (a hash lookup)."""
    version = row.record_version
    status, latest, standing = _standing(version)
    # A newer version changes the state key too; only a current version's key change is news of its own.
    changed = status == "current" and row.state_key != state_key(version)
    if match == "archived_pdf":
        message = f"Genuine: this file is byte for byte the PDF archived for {_names(version)}, {standing}."
    else:
        message = (f"This sha256 is that of the PDF file archived for {_names(version)}, {standing}. A file is "
                   "that archived copy only if its own sha256 is this one: upload the file to have it checked.")
    if changed:
        message += (" Since this copy was archived, the version's signatures or deviation steps have changed: "
                    "the archived copy of its current state prints them.")
    return Verification(match, status, message, version.submission_id, version.version, latest, version.sha256,
                        file_sha256, row.created_at, changed)


def _record(version: RecordVersion, match: Match, file_sha256: str | None = None) -> Verification:
    """The answer for a record version found by its canonical JSON: embedded in an unarchived file, or typed."""
    status, latest, standing = _standing(version)
    if match == "embedded_record":
        message = (f"The record.json embedded in this file is {_names(version)}, {standing}, but the file is not "
                   "byte for byte any PDF the plant archived, so its pages may show something other than the "
                   "record. Read the record from the archived copy.")
    else:
        message = (f"This sha256 is that of {_names(version)}, {standing}. It names the record's content, not a "
                   "file: it is printed on every copy, true or not, so compare the pages with the archived copy "
                   "or upload the PDF.")
    return Verification(match, status, message, version.submission_id, version.version, latest, version.sha256,
                        file_sha256)


def _archived_row(pdf_sha256: str) -> RenderedPdf | None:
    # rendered_pdf.pdf_sha256 is indexed: one lookup, whatever the size of the archive.
    return db.session.scalar(select(RenderedPdf).where(RenderedPdf.pdf_sha256 == pdf_sha256)
                             .order_by(RenderedPdf.id).limit(1))


def _version_with_sha256(digest: str) -> RecordVersion | None:
    return db.session.scalar(select(RecordVersion).where(RecordVersion.sha256 == digest).limit(1))


def verify_sha256(text: str) -> Verification:
    """Look a hash up: a record version's sha256 (printed on every page), or an archived PDF file's sha256.
    DomainError (422, field sha256) when the text is not a sha256."""
    digest = (text or "").strip().lower()
    if not HEX64.fullmatch(digest):
        raise DomainError("That is not a sha256.", {"sha256": ["Expected 64 hexadecimal characters."]})
    version = _version_with_sha256(digest)
    if version is not None:
        return _record(version, "record_sha256")
    row = _archived_row(digest)
    if row is not None:
        return _archived(row, "pdf_sha256", digest)
    return not_ours("no record version and no archived PDF file has this sha256")


def _embedded_record(data: bytes) -> bytes:
    """The PDF's record.json bytes; ValueError saying why when there is no single one to read."""
    try:
        reader = PdfReader(io.BytesIO(data))
        found = reader.attachments.get(ATTACHMENT_NAME) if ATTACHMENT_NAME in reader.attachments else None
    except Exception as error:  # noqa: BLE001 - anyone may upload any file; pypdf raises many kinds on garbage
        raise ValueError("the file is not a readable PDF") from error
    if not found:
        raise ValueError(f"the PDF carries no {ATTACHMENT_NAME}")
    if len(found) != 1:
        raise ValueError(f"the PDF carries more than one {ATTACHMENT_NAME}")
    return found[0]


def verify_pdf(data: bytes) -> Verification:
    """Genuine when the file is byte for byte an archived PDF; else what its embedded record.json is, if ours."""
    file_sha256 = sha256_hex(data)
    row = _archived_row(file_sha256)
    if row is not None:
        return _archived(row, "archived_pdf", file_sha256)
    try:
        record = _embedded_record(data)
    except ValueError as error:
        return not_ours(str(error), file_sha256)
    # The attachment is the canonical JSON itself, so any change to it, even one byte, changes this hash.
    version = _version_with_sha256(sha256_hex(record))
    if version is None:
        return not_ours(f"its {ATTACHMENT_NAME} matches no record version here (altered, or from elsewhere)",
                        file_sha256)
    return _record(version, "embedded_record", file_sha256)
