"""Record PDFs: what an auditor reads, PDF/A-3b with record.json, every page marked, stored once, nothing fetched from outside."""
import hashlib
import io
import json
import subprocess
import threading
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from app.canonical import canonical_json, sha256_hex
from app.extensions import db
from app.models import RecordVersion, RenderedPdf, Signature
from app.models.types import frozen_clock
from app.services.core import blobs
from app.services.floor import attachments, evaluation, submissions
from app.services.records import pdf, pdf_worker, versions
from app.services.core.audit import Actor
from tests.helpers.photos import png

BASE_URL = "https://floorbook.test"
AT = datetime(2026, 11, 20, 12, 15, tzinfo=timezone.utc)  # 06:15 in Chicago: shift A
STATEMENT = "I reviewed this record and confirm that it is complete and correct."
PRESS_CHECKS = {"guards_in_place": "pass", "light_curtain": "pass", "two_hand_control": "na",
                "emergency_stop": "pass", "oil_leaks": "fail", "lubrication_level": "pass"}
# One PDF per record state for the whole session: the record JSON is deterministic (fixed ids and clock),
# so a state key seen before names the very same content, and each render costs ~0.4 s.
_PDFS: dict[str, bytes] = {}


def press_record(plant, operator, instance: Path) -> RecordVersion:
    """A submitted press check: pressure out of spec with reason and action, an oil leak, an N/A and a photo."""
    actor = Actor(operator.id)
    with frozen_clock(AT):
        draft = submissions.start_submission(str(uuid.UUID(int=1)), plant.forms["press-start-of-shift"].id,
                                             plant.stations["Press 1"].id, actor)
        for item, value in PRESS_CHECKS.items():
            submissions.save_answer(draft, item, {}, actor, value=value, parsed=True)
        submissions.save_answer(draft, "leak_location", {}, actor, value="Hose at valve block V2, dripping", parsed=True)
        submissions.save_answer(draft, "hydraulic_pressure", {}, actor, value=162.5, parsed=True)
        submissions.explain(draft, "hydraulic_pressure", "Relief valve drifted after warm-up",
                            "Maintenance re-set the relief valve", actor)
        submissions.explain(draft, "oil_leaks", "Hose fitting loose", "Fitting tightened and tagged", actor)
        photo = attachments.store_photo(png((320, 240)), 10 << 20, operator.id)
        submissions.add_photo(draft, "guard_photo", photo.sha256, actor)
        return versions.submit(draft, actor)


def torque_record(plant, operator) -> RecordVersion:
    """A submitted torque audit with five-reading series: one reading out of spec, one in the warning band."""
    actor = Actor(operator.id)
    with frozen_clock(AT):
        draft = submissions.start_submission(str(uuid.UUID(int=2)), plant.forms["torque-audit"].id,
                                             plant.stations["Weld 1"].id, actor)
        answers = {"wrench_id": "TW-0417", "calibration_in_date": "pass", "joint_marking": "all_marked",
                   "bracket_bolt_torque": [50.1, 47.0, 56.2, 49.9, 50.0], "cover_screw_torque": [9.0, 9.1, 9.8, 9.0, 8.9]}
        for item, value in answers.items():
            submissions.save_answer(draft, item, {}, actor, value=value, parsed=True)
        submissions.explain(draft, "bracket_bolt_torque", "Bolt 3 over-torqued", "Parts since the last audit quarantined", actor)
        return versions.submit(draft, actor)


def sign(version: RecordVersion, signer, at: datetime = AT + timedelta(hours=1)) -> Signature:
    """Insert a signature row as the signing service will."""
    signature = Signature(record_version_id=version.id, content_sha256=version.sha256, signer_id=signer.id,
                          printed_name=signer.printed_name, role="inspector", meaning="Reviewed", statement=STATEMENT,
                          signed_at=at, auth_method="password re-entered")
    db.session.add(signature)
    db.session.commit()
    return signature


def correct(version: RecordVersion, user, item_name: str, new, reason: str) -> RecordVersion:
    """Insert the next record version with item_name changed and a `correction` key, as the corrections service will."""
    doc = json.loads(version.canonical_json)
    spec = next(i for _s, i in evaluation.iter_items(version.submission.form_version.definition) if i["name"] == item_name)
    item = next(i for i in doc["items"] if i["item"] == item_name)
    change = {"item": item_name, "label": item["label"], "old": item["value"], "new": new}
    item["value"], item["verdict"] = new, evaluation.evaluate(spec, new).to_dict()
    doc["version"] = version.version + 1
    doc["correction"] = {"reason": reason, "by": {"username": user.username, "printed_name": user.printed_name},
                         "at": (AT + timedelta(hours=2)).isoformat(), "from_version": version.version,
                         "changes": [change]}
    body = canonical_json(doc)
    newer = RecordVersion(submission_id=version.submission_id, version=doc["version"], canonical_json=body,
                          sha256=sha256_hex(body), created_by_id=user.id, reason=reason)
    db.session.add(newer)
    db.session.commit()
    return newer


def rendered(version: RecordVersion) -> bytes:
    """The version's PDF bytes, rendered at most once per state in the session."""
    key = pdf.state_key(version)
    if key not in _PDFS:
        _PDFS[key] = pdf.pdf_for(version, "Alex Chen (auditor1)", BASE_URL).read_bytes()
    return _PDFS[key]


def texts(data: bytes) -> list[str]:
    """Each page's extracted text with white space folded, as a reader would search it."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages]


def drawn_images(page: pikepdf.Page) -> list[pikepdf.Object]:
    """Image XObjects the page's content draws (WeasyPrint shares one resource dictionary between pages)."""
    xobjects = page.Resources.get("/XObject", {})
    names = [operands[0] for operands, _op in pikepdf.parse_content_stream(page, "Do")]
    return [xobjects[name] for name in names if name in xobjects and xobjects[name].get("/Subtype") == "/Image"]


@pytest.fixture
def signed_press(app, plant, users):
    """The press record, signed by the inspector: (version, its PDF bytes)."""
    version = press_record(plant, users.operator, Path(app.instance_path))
    sign(version, users.inspector)
    return version, rendered(version)


def test_signed_pdf_is_stored_once_and_then_served_from_storage(app, plant, users, db, monkeypatch):
    """The first call renders and archives in the blob store; the second returns the same blob without rendering."""
    version = press_record(plant, users.operator, Path(app.instance_path))
    sign(version, users.inspector)
    first = pdf.pdf_for(version, "Alex Chen (auditor1)", BASE_URL)
    _PDFS.setdefault(pdf.state_key(version), first.read_bytes())
    store = blobs.store()
    assert first.stored and store.exists(first.sha256) and first.size == store.size(first.sha256)
    assert sha256_hex(pdf.read_stored(first.sha256)) == first.sha256
    blob_file = store.path(first.sha256)  # the test app keeps the default folder store
    assert blob_file == Path(app.instance_path).resolve() / "blobs" / first.sha256[:2] / first.sha256
    mtime = blob_file.stat().st_mtime_ns

    monkeypatch.setattr(pdf, "render_in_worker", lambda *a, **k: pytest.fail("a stored PDF was rendered again"))
    second = pdf.pdf_for(version, "Someone Else (auditor2)", BASE_URL)
    assert (second.stored, second.sha256, second.size) == (True, first.sha256, first.size)
    assert blob_file.stat().st_mtime_ns == mtime
    assert db.session.scalar(select(func.count()).select_from(RenderedPdf)) == 1

    blob_file.unlink()  # lost from storage: rendered again, and the one row now names the new blob
    monkeypatch.setattr(pdf, "render_in_worker", lambda *a, **k: b"%PDF-1.7 re-rendered")
    third = pdf.pdf_for(version, "Alex Chen (auditor1)", BASE_URL)
    assert third.read_bytes() == b"%PDF-1.7 re-rendered" == pdf.read_stored(third.sha256)
    assert db.session.scalar(select(RenderedPdf.pdf_sha256)) == third.sha256 != first.sha256


def test_pdf_shows_the_record_as_an_auditor_expects(signed_press):
    """Header, every answer with unit, limits and verdict word, reasons, photo hash, signature, history, this copy."""
    version, data = signed_press
    text = " ".join(texts(data))
    doc = version.document
    photo_sha = next(i for i in doc["items"] if i["item"] == "guard_photo")["value"][0]
    expected = [
        "Demo Plant", "Assembly · Line 1 · Press 1", "Press start-of-shift check", "press-start-of-shift, version 1",
        doc["form"]["sha256"], "A, 2026-11-20", "T-Operator (t-operator) 2026-11-20 06:15 CST (UTC-06:00)",
        "162.5 bar", "Nominal 150.0 bar", "LSL 140.0 · USL 160.0 bar", "Warning below 143.0 or above 157.0 bar",
        "162.5 bar is above the upper limit 160 bar", "Pass", "Fail", "Hose at valve block V2, dripping",
        "✓ OK", "✗ Out of spec", "N/A", "Info",
        "Reason: Relief valve drifted after warm-up", "Action taken: Maintenance re-set the relief valve",
        "Reason: Hose fitting loose", "Action taken: Fitting tightened and tagged", f"original sha256 {photo_sha}",
        "T-Inspector", "Meaning: Reviewed · Role: inspector", "2026-11-20 07:15:00 CST (UTC-06:00)", STATEMENT,
        "What happened: Hydraulic pressure 162.5 bar, spec 140–160 bar, Press 1, T-Operator, 06:15 CST",
        "Cause: Relief valve drifted after warm-up", "Immediate action: Maintenance re-set the relief valve",
        "What happened: No oil leaks at the cylinder, hoses or fittings: Fail, Press 1, T-Operator, 06:15 CST",
        "No changes since original entry.", "by Alex Chen (auditor1)",
        f"{BASE_URL}/verify?sha256={version.sha256}", "version 1 of 1 (original)",
    ]
    missing = [words for words in expected if words not in text]
    assert not missing, missing
    assert "NOT SIGNED" not in text and "SUPERSEDED" not in text


def test_every_page_names_the_record_and_counts_pages(signed_press):
    """Page X of Y, the record id, its version and the full sha256 on every page."""
    version, data = signed_press
    pages = texts(data)
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        assert f"Record {version.submission_id}, version 1" in text
        assert f"sha256 {version.sha256}" in text


def test_photo_is_embedded_in_place(signed_press):
    """The photo's display derivative is on the page that lists the photo item, never interpolated (PDF/A)."""
    _version, data = signed_press
    with pikepdf.open(io.BytesIO(data)) as document:
        drawn = [drawn_images(page) for page in document.pages]
        assert [n for n, images in enumerate(drawn) if images] == \
            [n for n, text in enumerate(texts(data)) if "Photo of the guard" in text]
        assert sum(map(len, drawn)) == 1 and not drawn[0][0].get("/Interpolate", False)


def test_pdf_is_pdfa_3b_with_the_record_attached(signed_press):
    """XMP claims PDF/A-3b; record.json is an associated Source file whose sha256 is the printed record sha256."""
    version, data = signed_press
    with pikepdf.open(io.BytesIO(data)) as document:
        meta = document.open_metadata()
        assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("3", "B")
        assert "/OutputIntents" in document.Root and "/Encrypt" not in document.trailer and "/ID" in document.trailer
        assert document.check_pdf_syntax() == []  # qpdf --check
        spec = document.attachments["record.json"]
        assert spec.obj["/AFRelationship"] == "/Source"
        assert spec.get_file().obj["/Subtype"] == "/application/json"
        assert all(entry.objgen == spec.obj.objgen for entry in document.Root["/AF"])
        attached = spec.get_file().read_bytes()
        fonts = [font for page in document.pages for font in page.Resources.Font.values()]
        for font in fonts:
            descriptor = font.DescendantFonts[0].FontDescriptor if "/DescendantFonts" in font else font.FontDescriptor
            assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), font.BaseFont
    assert attached == version.canonical_json.encode("utf-8")
    assert hashlib.sha256(attached).hexdigest() == version.sha256
    assert all(f"sha256 {version.sha256}" in text for text in texts(data))


def test_every_page_rasterises(signed_press, tmp_path):
    """pdftoppm renders each page without complaint."""
    _version, data = signed_press
    source = tmp_path / "record.pdf"
    source.write_bytes(data)
    done = subprocess.run(["pdftoppm", "-r", "50", "-png", str(source), str(tmp_path / "page")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr, done.stderr
    assert len(list(tmp_path.glob("page-*.png"))) == len(PdfReader(source).pages)


def test_unsigned_pdf_is_marked_and_archived_for_its_state(app, plant, users, db):
    """No signature: NOT SIGNED on every page, readings with their verdicts; the unsigned state is stored too
    (its key changes with the first signature, so the copy is never served for a signed record)."""
    version = torque_record(plant, users.operator)
    result = pdf.pdf_for(version, "Alex Chen (auditor1)", BASE_URL)
    assert result.stored and result.read_bytes().startswith(b"%PDF-")
    assert result.sha256 == sha256_hex(result.read_bytes()) and result.size == len(result.read_bytes())
    row = db.session.scalar(select(RenderedPdf))
    assert (row.record_version_id, row.state_key, row.pdf_sha256) == (version.id, pdf.state_key(version), result.sha256)
    assert pdf.read_stored(result.sha256) == result.read_bytes()
    pages = texts(result.read_bytes())
    assert all("NOT SIGNED" in text for text in pages)
    text = " ".join(pages)
    for words in ["Reading 3 56.2 N·m ✗ Out of spec", "Reading 3 9.8 N·m ! Warning", "Reading 1 50.1 N·m ✓ OK",
                  "! Warning", "LSL 45.0 · USL 55.0 N·m", "Warning below 46.5 or above 53.5 N·m", "TW-0417",
                  "All joints marked", "Reason: Bolt 3 over-torqued", "This form requires no sign-off."]:
        assert words in text, words


def test_superseded_version_is_marked_and_the_correction_is_listed(app, plant, users):
    """Version 1 says SUPERSEDED BY VERSION 2 on every page; version 2 lists field, old, new, who, when and why."""
    first = press_record(plant, users.operator, Path(app.instance_path))
    sign(first, users.inspector)
    second = correct(first, users.supervisor, "leak_location", "Hose at valve block V3, dripping",
                     "Wrong valve block written down")
    old_pages = texts(rendered(first))
    assert all("SUPERSEDED BY VERSION 2" in text for text in old_pages)
    assert "Superseded by version 2: this signature covers version 1 only." in " ".join(old_pages)
    assert "Corrected later: version 2 of this record lists the changes" in " ".join(old_pages)
    new_text = " ".join(texts(rendered(second)))
    row = ("2 Where is the leak? Hose at valve block V2, dripping Hose at valve block V3, dripping "
           "T-Supervisor (t-supervisor) 2026-11-20 08:15 CST (UTC-06:00) Wrong valve block written down")
    assert row in new_text
    assert "Where is the leak? Corrected in version 2, see the change history" in new_text
    assert "version 2 of 2 (amended)" in new_text and "NOT SIGNED" in new_text and "SUPERSEDED" not in new_text


def test_state_key_follows_signatures_and_corrections(app, plant, users):
    """A signature or a newer version gives a new state; every state is worth archiving."""
    version = press_record(plant, users.operator, Path(app.instance_path))
    unsigned = pdf.state_key(version)
    assert pdf.record_state(version).worth_storing(version)
    correct(version, users.supervisor, "leak_location", "Elsewhere", "Typo")
    assert pdf.state_key(version) != unsigned and pdf.record_state(version).worth_storing(version)
    superseded = pdf.state_key(version)
    sign(version, users.inspector)
    assert pdf.state_key(version) not in (unsigned, superseded)


def test_concurrent_downloads_of_one_state_render_it_once(app, plant, users, db, monkeypatch):
    """Four threads ask for the same unstored state at once: one renders, the others wait and get its file."""
    version_id = torque_record(plant, users.operator).id
    db.session.commit()  # the main thread holds no transaction while the threads run
    renders = []
    real = pdf.render_record_pdf

    def counted(*args, **kwargs):
        renders.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(pdf, "render_record_pdf", counted)
    results = []

    def download() -> None:
        with app.app_context():
            results.append(pdf.pdf_for(db.session.get(RecordVersion, version_id), "A (a)", BASE_URL).sha256)
    threads = [threading.Thread(target=download) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(renders) == 1 and len(results) == 4 and len(set(results)) == 1
    assert db.session.scalar(select(func.count()).select_from(RenderedPdf)) == 1


@pytest.fixture
def outside_server():
    """An HTTP server on 127.0.0.1 that counts the requests it gets."""
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(png())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def test_renderer_fetches_nothing_from_outside(app, outside_server, tmp_path):
    """Images and styles from the network or outside our folders are not fetched; our own files are."""
    url, hits = outside_server
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "ok.png").write_bytes(png())
    html = (f'<link rel="stylesheet" href="{url}/style.css"><img src="{url}/x.png"><img src="http://127.0.0.1:9/x.png">'
            f'<img src="file:///etc/passwd"><img src="{allowed.as_uri()}/../../../../etc/hostname">'
            f'<img src="{(allowed / "ok.png").as_uri()}"><p>Only one image above is ours.</p>')
    data = pdf_worker.render_in_worker(html, allowed.as_uri() + "/", [str(allowed)], "{}", b"0" * 32)
    assert hits == []
    with pikepdf.open(io.BytesIO(data)) as document:
        assert sum(len(drawn_images(page)) for page in document.pages) == 1


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/x.png", "https://example.com/x.css", "ftp://example.com/x.png", "file:///etc/passwd",
    "file://otherhost/srv/x.png", "{root}/../outside.txt", "{root}/link-out.txt", "{root}/missing.png",
])
def test_fetcher_refuses_outside_urls(tmp_path, url):
    """Only data: URLs and existing files under the allowed roots are served; symlinks and .. cannot escape."""
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside.txt").write_text("secret")
    (root / "link-out.txt").symlink_to(tmp_path / "outside.txt")
    fetcher = pdf_worker.restricted_fetcher([str(root)])
    with pytest.raises(ValueError):
        fetcher.fetch(url.format(root=root.as_uri()))


def test_fetcher_serves_our_files_and_data_urls(app):
    """The print stylesheet and inline data come through."""
    static = Path(app.static_folder)
    fetcher = pdf_worker.restricted_fetcher([str(static)])
    css = fetcher.fetch((static / "css" / "print.css").as_uri())
    assert css.content_type == "text/css" and b"@page" in css.read()
    assert fetcher.fetch("data:text/plain;base64,b2s=").read() == b"ok"
