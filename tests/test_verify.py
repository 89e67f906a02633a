"""Verification: only a file byte for byte archived is genuine; a changed file names its record and the archived
copy; a hash says what it is the hash of; anything foreign is not a Floorbook record."""
import io
import os
import re
import uuid
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import select

from app.canonical import sha256_hex
from app.extensions import db
from app.models import RecordVersion, RenderedPdf
from app.models.types import frozen_clock
from app.services.core.audit import Actor
from app.services.core.errors import DomainError
from app.services.floor import attachments, submissions
from app.services.records import pdf, versions
from app.services.records.verify import verify_pdf, verify_sha256
from tests.helpers.photos import png
from tests.test_pdf import AT, PRESS_CHECKS, correct, press_record, rendered, sign, texts
from tests.test_records_http import verify_upload

RESULT = re.compile(r'<section class="alert[^"]*verify-result".*?</section>', re.S)


def archived(version: RecordVersion) -> bytes:
    """The version's PDF in its current state, with its rendered_pdf row in place as pdf_for leaves it."""
    data = rendered(version)
    key = pdf.state_key(version)
    if db.session.scalar(select(RenderedPdf.id).where(RenderedPdf.record_version_id == version.id,
                                                      RenderedPdf.state_key == key)) is None:
        # The bytes came from the session's render cache: record their archive row as pdf_for would have.
        db.session.add(RenderedPdf(record_version_id=version.id, state_key=key, pdf_sha256=sha256_hex(data),
                                   size=len(data)))
        db.session.commit()
    return data


def result_of(page: str) -> str:
    """The verify page's answer region."""
    found = RESULT.search(page)
    assert found, "the page shows no answer"
    return found.group(0)


@pytest.fixture
def record(app, plant, users):
    """The signed press record (version 1) and its archived PDF's bytes."""
    version = press_record(plant, users.operator, Path(app.instance_path))
    sign(version, users.inspector)
    return version, archived(version)


@pytest.fixture
def high_pressure(app, plant, users):
    """A signed press check that reads 176.0 bar (out of spec, explained), and its archived PDF's bytes."""
    actor = Actor(users.operator.id)
    with frozen_clock(AT):
        draft = submissions.start_submission(str(uuid.UUID(int=11)), plant.forms["press-start-of-shift"].id,
                                             plant.stations["Press 1"].id, actor)
        for item, value in {**PRESS_CHECKS, "oil_leaks": "pass"}.items():
            submissions.save_answer(draft, item, {}, actor, value=value, parsed=True)
        submissions.save_answer(draft, "hydraulic_pressure", {}, actor, value=176.0, parsed=True)
        submissions.explain(draft, "hydraulic_pressure", "Relief valve stuck", "Maintenance called", actor)
        photo = attachments.store_photo(png((320, 240)), 10 << 20, users.operator.id)
        submissions.add_photo(draft, "guard_photo", photo.sha256, actor)
        version = versions.submit(draft, actor)
    sign(version, users.inspector)
    return version, archived(version)


def _glyphs(font: pikepdf.Dictionary) -> dict[str, bytes]:
    """Each character the font's ToUnicode map knows, to the hex glyph code that prints it."""
    cmap = font.ToUnicode.read_bytes().decode("ascii")
    pairs = re.findall(r"<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]{4})>", cmap.split("beginbfchar", 1)[1])
    return {chr(int(code, 16)): glyph.encode("ascii") for glyph, code in pairs}


def with_page_text_changed(data: bytes, old: str, new: str) -> bytes:
    """A forger's edit: the PDF rewritten uncompressed, with `old` printed as `new` wherever a page shows it
    (the glyph codes swapped in the content streams, one byte for 176.0 → 156.0), record.json left alone."""
    with pikepdf.open(io.BytesIO(data)) as document:
        for page in document.pages:
            fonts = page.Resources.Font
            glyphs = {name: _glyphs(fonts[name]) for name in fonts.keys()}
            # Split at each font selection so that every run is matched with its own font's glyph codes.
            parts = re.split(rb"(/[A-Za-z0-9]+ [\d.]+ Tf)", page.Contents.read_bytes())
            font = None
            for at, part in enumerate(parts):
                if part.endswith(b" Tf"):
                    font = part.split()[0].decode("ascii")
                    continue
                known = glyphs.get(font, {})
                if font is None or not all(c in known for c in old + new):
                    continue
                printed = rb"(-?[\d.]*)".join(re.escape(b"<" + known[c] + b">") for c in old)
                drawn = [b"<" + known[c] + b">" for c in new]
                parts[at] = re.sub(printed, lambda m: b"".join(g + (m.group(n + 1) if n < len(old) - 1 else b"")
                                                               for n, g in enumerate(drawn)), part)
            page.Contents.write(b"".join(parts))
        out = io.BytesIO()
        document.save(out, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.generalized)
    return out.getvalue()


def embedded_record(data: bytes) -> bytes:
    """The record.json bytes a PDF carries."""
    with pikepdf.open(io.BytesIO(data)) as document:
        return document.attachments["record.json"].get_file().read_bytes()


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


def test_archived_pdf_is_genuine_and_current(record):
    """The archived PDF of the newest version, byte for byte, is genuine and current (the one green tick)."""
    version, data = record
    answer = verify_pdf(data)
    assert (answer.match, answer.status, answer.record_id, answer.version, answer.latest_version) == \
        ("archived_pdf", "current", version.submission_id, 1, 1)
    assert answer.message == (f"Genuine: this file is byte for byte the PDF archived for record "
                              f"{version.submission_id}, version 1, the current version.")
    assert answer.genuine and (answer.headline, answer.tone) == ("✓ Genuine, current version", "ok")
    assert (answer.file_sha256, answer.record_sha256) == (sha256_hex(data), version.sha256)
    assert answer.archived_at is not None and not answer.offers_archived_copy


def test_forged_page_text_is_not_genuine_and_offers_the_archived_copy(high_pressure, client):
    """176.0 bar re-printed as 156.0 (in spec) in an uncompressed rewrite, record.json untouched: the page
    names the record as current but says these pages are not the archived copy, links it, and shows no tick."""
    version, data = high_pressure
    forged = with_page_text_changed(data, "176.0", "156.0")
    assert "Hydraulic pressure 176.0 bar" in " ".join(texts(data))
    assert "Hydraulic pressure 156.0 bar" in " ".join(texts(forged)) and "176.0" not in " ".join(texts(forged))
    assert embedded_record(forged) == embedded_record(data) == version.canonical_json.encode("utf-8")

    answer = verify_pdf(forged)
    assert not answer.genuine
    assert (answer.match, answer.status, answer.record_id, answer.version) == \
        ("embedded_record", "current", version.submission_id, 1)
    assert answer.message == (f"The record.json embedded in this file is record {version.submission_id}, "
                              "version 1, the current version, but the file is not byte for byte any PDF the "
                              "plant archived, so its pages may show something other than the record. "
                              "Read the record from the archived copy.")
    assert (answer.headline, answer.tone, answer.offers_archived_copy) == ("✗ Not the archived copy", "error", True)

    shown = result_of(verify_upload(client, forged))
    assert "Genuine" not in shown and "✓" not in shown and "alert-ok" not in shown
    assert 'data-match="embedded_record"' in shown and "Not the archived copy" in shown
    assert f'href="/records/{version.submission_id}/v1.pdf"' in shown
    assert "Download the archived copy of version 1" in shown and sha256_hex(forged) in shown


def test_older_archived_version_is_genuine_but_superseded(record, users, client):
    """Once version 2 exists, version 1's archived PDF is genuine but superseded, and the page links version 2."""
    version, data = record
    correct(version, users.supervisor, "leak_location", "Hose at valve block V3, dripping", "Wrong block written down")
    answer = verify_pdf(data)
    assert (answer.match, answer.status, answer.version, answer.latest_version) == ("archived_pdf", "superseded", 1, 2)
    assert answer.genuine and answer.message == (f"Genuine: this file is byte for byte the PDF archived for record "
                                                 f"{version.submission_id}, version 1, superseded by version 2.")
    assert (answer.headline, answer.tone) == ("! Genuine, but superseded by version 2", "warn")
    shown = result_of(verify_upload(client, data))
    assert "✓" not in shown and 'data-status="superseded"' in shown
    assert f'href="/records/{version.submission_id}.pdf"' in shown and "current version, 2" in shown


def test_archived_copy_from_before_a_signature_is_genuine_and_says_the_record_moved_on(app, plant, users):
    """A PDF archived while the version was unsigned stays genuine; after the signature it says a newer copy
    of the version prints what changed, and offers it."""
    version = press_record(plant, users.operator, Path(app.instance_path))
    unsigned = archived(version)
    sign(version, users.inspector)
    answer = verify_pdf(unsigned)
    assert (answer.match, answer.status, answer.genuine) == ("archived_pdf", "current", True)
    assert answer.message.endswith("Since this copy was archived, the version's signatures or deviation steps have "
                                   "changed: the archived copy of its current state prints them.")
    assert answer.offers_archived_copy


def test_one_changed_byte_in_the_attachment_is_not_a_floorbook_record(record):
    """Altering the embedded record by one byte breaks the match."""
    _version, data = record
    altered = with_attachment_byte_changed(data)
    answer = verify_pdf(altered)
    assert (answer.match, answer.status, answer.record_id, answer.version) == ("none", "unknown", None, None)
    assert answer.message == ("Not a Floorbook record: its record.json matches no record version here "
                              "(altered, or from elsewhere).")
    assert not answer.genuine and answer.headline == "✗ Not a Floorbook record"


def test_genuine_record_in_another_document_is_not_the_archived_copy(record):
    """A real record.json attached to other pages names its record, but the file is not genuine."""
    version, data = record
    forged = pikepdf.new()
    forged.add_blank_page()
    forged.attachments["record.json"] = pikepdf.AttachedFileSpec(forged, embedded_record(data))
    out = io.BytesIO()
    forged.save(out)
    answer = verify_pdf(out.getvalue())
    assert (answer.match, answer.record_id, answer.genuine) == ("embedded_record", version.submission_id, False)


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
def test_unreadable_or_foreign_files_are_not_floorbook_records(app, data, why):
    """Random bytes and PDFs without our attachment are not Floorbook records, saying why."""
    answer = verify_pdf(data)
    assert (answer.match, answer.status, answer.message) == ("none", "unknown", f"Not a Floorbook record: {why}.")


def test_record_hash_names_the_record_not_the_pages(record, users, client):
    """The printed sha256 (any case, spaces around) names the record version, current then superseded, says it
    vouches for no pages, links the archived copy, and never shows the tick."""
    version, _data = record
    answer = verify_sha256(f"  {version.sha256.upper()} ")
    assert (answer.match, answer.status, answer.record_id, answer.version) == \
        ("record_sha256", "current", version.submission_id, 1)
    assert answer.message == (f"This sha256 is that of record {version.submission_id}, version 1, the current "
                              "version. It names the record's content, not a file: it is printed on every copy, "
                              "true or not, so compare the pages with the archived copy or upload the PDF.")
    assert not answer.genuine and (answer.headline, answer.tone) == ("Record version found, current version", "info")
    shown = result_of(client.get(f"/verify?sha256={version.sha256}").get_data(as_text=True))
    assert "✓" not in shown and "Genuine" not in shown and f'href="/records/{version.submission_id}/v1.pdf"' in shown

    newer = correct(version, users.supervisor, "leak_location", "Elsewhere", "Typo")
    assert (verify_sha256(version.sha256).status, verify_sha256(version.sha256).latest_version) == ("superseded", 2)
    assert (verify_sha256(newer.sha256).status, verify_sha256(newer.sha256).version) == ("current", 2)


def test_pdf_file_hash_says_it_is_an_archived_file(record):
    """The sha256 of an archived PDF file is answered as that file's, with when it was archived."""
    version, data = record
    answer = verify_sha256(sha256_hex(data))
    assert (answer.match, answer.status, answer.record_id, answer.version, answer.file_sha256) == \
        ("pdf_sha256", "current", version.submission_id, 1, sha256_hex(data))
    assert answer.message == (f"This sha256 is that of the PDF file archived for record {version.submission_id}, "
                              "version 1, the current version. A file is that archived copy only if its own "
                              "sha256 is this one: upload the file to have it checked.")
    assert not answer.genuine and answer.headline == "Archived PDF file found, current version"
    assert answer.archived_at == db.session.scalar(select(RenderedPdf.created_at)
                                                   .where(RenderedPdf.pdf_sha256 == sha256_hex(data)))


def test_unknown_hash_is_not_a_floorbook_record(app):
    """A well-formed hash nobody issued is not a Floorbook record."""
    assert verify_sha256("0" * 64).message == \
        "Not a Floorbook record: no record version and no archived PDF file has this sha256."


@pytest.mark.parametrize("text", ["not-a-hash", "a" * 63, "g" * 64, "9" * 300])
def test_text_that_is_not_a_sha256_is_refused(client, text):
    """Malformed hashes are a 422 naming the sha256 field and what it expects, on the page with its form."""
    with pytest.raises(DomainError) as raised:
        verify_sha256(text)
    assert raised.value.errors == {"sha256": ["Expected 64 hexadecimal characters."]}
    response = client.get(f"/verify?sha256={text}")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Expected 64 hexadecimal characters." in page
    assert 'aria-describedby="sha256-error"' in page and 'id="sha256-error"' in page


def test_missing_file_is_refused_on_the_page(client):
    """POST without a file: 422, the form again with the pdf field's reason tied to the field."""
    response = client.post_form("/verify", {})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Choose a PDF file to verify." in page
    assert 'aria-describedby="pdf-error"' in page and "Required: the record PDF to check." in page
