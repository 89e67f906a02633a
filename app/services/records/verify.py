"""Is this PDF (or hash) one of our records, and is it the current version? Answers the /verify page."""
import io
import re
from dataclasses import dataclass, replace
from typing import Literal

from pypdf import PdfReader
from sqlalchemy import select

from app.canonical import sha256_hex
from app.extensions import db
from app.models import RecordVersion, RenderedPdf
from app.services.records.pdf import latest_version_number

ATTACHMENT_NAME = "record.json"
HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Verification:
    """The answer: current, superseded or unknown, with the record it names and a sentence for people."""

    status: Literal["current", "superseded", "unknown"]
    record_id: str | None
    version: int | None
    latest_version: int | None
    message: str

    @property
    def genuine(self) -> bool:
        """True when the content is one of our record versions (current or superseded)."""
        return self.status != "unknown"


def unknown(why: str) -> Verification:
    """An 'unknown or altered' answer saying why."""
    return Verification("unknown", None, None, None, f"Unknown or altered: {why}.")


def _answer(version: RecordVersion) -> Verification:
    latest = latest_version_number(version.submission_id)
    if latest > version.version:
        return Verification("superseded", version.submission_id, version.version, latest,
                            f"Genuine, but superseded by version {latest} of record {version.submission_id}.")
    return Verification("current", version.submission_id, version.version, latest,
                        f"Genuine: record {version.submission_id}, version {version.version}, the current version.")


def _version_with_sha256(digest: str) -> RecordVersion | None:
    return db.session.scalar(select(RecordVersion).where(RecordVersion.sha256 == digest).limit(1))


def verify_sha256(text: str) -> Verification:
    """Look a hash up: a record version's sha256 (printed on every page), or an archived PDF file's sha256."""
    digest = (text or "").strip().lower()
    if not HEX64.fullmatch(digest):
        return unknown("that is not a sha256 (64 hexadecimal characters)")
    version = _version_with_sha256(digest)
    if version is None:
        rendered = db.session.scalar(select(RenderedPdf).where(RenderedPdf.pdf_sha256 == digest).limit(1))
        version = rendered.record_version if rendered else None
    if version is None:
        return unknown("no record version or archived PDF has this sha256")
    return _answer(version)


def _read(data: bytes) -> tuple[bytes, str]:
    """The PDF's record.json bytes and its first page's text; ValueError saying why when unusable."""
    try:
        reader = PdfReader(io.BytesIO(data))
        found = reader.attachments.get(ATTACHMENT_NAME) if ATTACHMENT_NAME in reader.attachments else None
        first_page = reader.pages[0].extract_text() if found else ""
    except Exception as error:  # noqa: BLE001 - anyone may upload any file; pypdf raises many kinds on garbage
        raise ValueError("the file is not a readable PDF") from error
    if not found:
        raise ValueError(f"the PDF carries no {ATTACHMENT_NAME}")
    if len(found) != 1:
        raise ValueError(f"the PDF carries more than one {ATTACHMENT_NAME}")
    return found[0], "".join(first_page.split())


def verify_pdf(data: bytes) -> Verification:
    """Hash the PDF's embedded record.json and find the record version it is; unknown when altered or foreign."""
    try:
        record, printed = _read(data)
    except ValueError as error:
        return unknown(str(error))
    # The attachment is the canonical JSON itself, so any change to it, even one byte, changes this hash.
    digest = sha256_hex(record)
    version = _version_with_sha256(digest)
    if version is None:
        return unknown(f"its {ATTACHMENT_NAME} matches no record version here")
    if digest not in printed:
        # A genuine record.json moved into another document: the pages do not show the hash they carry.
        return unknown(f"the sha256 printed on its first page is not that of its {ATTACHMENT_NAME}")
    answer = _answer(version)
    archived = db.session.scalar(select(RenderedPdf.id).where(RenderedPdf.pdf_sha256 == sha256_hex(data)).limit(1))
    if archived is not None:
        return replace(answer, message=answer.message + " The file is byte for byte the archived copy.")
    return answer
