"""Verification: a genuine PDF or hash is current or superseded; anything altered or foreign is unknown."""
import io
import os
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import func, select

from app.canonical import sha256_hex
from app.extensions import db
from app.models import RenderedPdf
from app.services.records import pdf
from app.services.records.verify import verify_pdf, verify_sha256
from tests.test_pdf import correct, press_record, rendered, sign


@pytest.fixture
def record(app, plant, users):
    """The signed press record (version 1) and its archived PDF's bytes, with the RenderedPdf row in place."""
    version = press_record(plant, users.operator, Path(app.instance_path))
    sign(version, users.inspector)
    data = rendered(version)
    if db.session.scalar(select(func.count()).select_from(RenderedPdf)) == 0:
        # The PDF came from the session cache: record its archive row as pdf_for would have.
        db.session.add(RenderedPdf(record_version_id=version.id, state_key=pdf.state_key(version),
                                   pdf_sha256=sha256_hex(data), size=len(data)))
        db.session.commit()
    return version, data


def with_attachment_byte_changed(data: bytes) -> bytes:
    """The PDF with one byte of its embedded record.json changed, saved again."""
    with pikepdf.open(io.BytesIO(data)) as document:
        stream = document.attachments["record.json"].get_file().obj
        body = bytearray(stream.read_bytes())
        at = body.index(b'"value":162.5') + len(b'"value":16')
        body[at] = ord("3")  # 162.5 becomes 163.5: still valid JSON, a different record
        stream.write(bytes(body))
        out = io.BytesIO()
        document.save(out)
    return out.getvalue()


def test_current_pdf_is_genuine_and_current(record):
    """The archived PDF of the newest version is genuine, current, and byte for byte the archived copy."""
    version, data = record
    answer = verify_pdf(data)
    assert (answer.status, answer.record_id, answer.version, answer.latest_version) == \
        ("current", version.submission_id, 1, 1)
    assert answer.message == (f"Genuine: record {version.submission_id}, version 1, the current version. "
                              "The file is byte for byte the archived copy.")
    assert answer.genuine


def test_superseded_pdf_names_the_newer_version(record, users):
    """Once version 2 exists, the version 1 PDF is genuine but superseded by version 2."""
    version, data = record
    correct(version, users.supervisor, "leak_location", "Hose at valve block V3, dripping", "Wrong block written down")
    answer = verify_pdf(data)
    assert (answer.status, answer.version, answer.latest_version) == ("superseded", 1, 2)
    assert answer.message.startswith(f"Genuine, but superseded by version 2 of record {version.submission_id}.")


def test_one_changed_byte_in_the_attachment_makes_it_unknown(record):
    """Altering the embedded record by one byte breaks the match."""
    _version, data = record
    altered = with_attachment_byte_changed(data)
    assert altered != data
    answer = verify_pdf(altered)
    assert (answer.status, answer.record_id, answer.version) == ("unknown", None, None)
    assert answer.message == "Unknown or altered: its record.json matches no record version here."
    assert not answer.genuine


def test_genuine_record_in_another_document_is_unknown(record):
    """A real record.json attached to pages that do not print its hash is not taken for the record."""
    _version, data = record
    with pikepdf.open(io.BytesIO(data)) as source:
        attached = source.attachments["record.json"].get_file().read_bytes()
    forged = pikepdf.new()
    forged.add_blank_page()
    forged.attachments["record.json"] = pikepdf.AttachedFileSpec(forged, attached)
    out = io.BytesIO()
    forged.save(out)
    answer = verify_pdf(out.getvalue())
    assert answer.status == "unknown" and "printed on its first page" in answer.message


def _blank_pdf() -> bytes:
    out = io.BytesIO()
    document = pikepdf.new()
    document.add_blank_page()
    document.save(out)
    return out.getvalue()


@pytest.mark.parametrize("data, why", [
    (os.urandom(4096), "the file is not a readable PDF"),
    (b"", "the file is not a readable PDF"),
    (b"%PDF-1.7\n" + os.urandom(512), "the file is not a readable PDF"),
    (_blank_pdf(), "the PDF carries no record.json"),
], ids=["random", "empty", "pdf-header-then-noise", "no-attachment"])
def test_unreadable_or_foreign_files_are_unknown(app, data, why):
    """Random bytes and PDFs without our attachment are unknown, saying why."""
    answer = verify_pdf(data)
    assert (answer.status, answer.message) == ("unknown", f"Unknown or altered: {why}.")


def test_record_hash_lookup(record, users):
    """The printed sha256 (any case, with spaces around) answers current, then superseded once corrected."""
    version, _data = record
    answer = verify_sha256(f"  {version.sha256.upper()} ")
    assert (answer.status, answer.record_id, answer.version) == ("current", version.submission_id, 1)
    newer = correct(version, users.supervisor, "leak_location", "Elsewhere", "Typo")
    assert verify_sha256(version.sha256).status == "superseded"
    assert verify_sha256(version.sha256).message == f"Genuine, but superseded by version 2 of record {version.submission_id}."
    assert (verify_sha256(newer.sha256).status, verify_sha256(newer.sha256).version) == ("current", 2)


def test_pdf_file_hash_lookup(record):
    """The sha256 of an archived PDF file names its record version."""
    version, data = record
    answer = verify_sha256(sha256_hex(data))
    assert (answer.status, answer.record_id, answer.version) == ("current", version.submission_id, 1)


@pytest.mark.parametrize("text, why", [
    ("0" * 64, "no record version or archived PDF has this sha256"),
    ("not-a-hash", "that is not a sha256 (64 hexadecimal characters)"),
    ("", "that is not a sha256 (64 hexadecimal characters)"),
    ("a" * 63, "that is not a sha256 (64 hexadecimal characters)"),
])
def test_unknown_hashes(app, text, why):
    """A well-formed but unknown hash and malformed input are unknown, saying why."""
    assert verify_sha256(text).message == f"Unknown or altered: {why}."
