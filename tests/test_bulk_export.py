"""Bulk export at scale: 1,000 signed records stream out as a ZIP holding each one's stored PDF byte for byte,
with a matching index, while the page's progress region counts them; PDFs not stored yet are rendered on the way.

The 1,000 PDFs are seeded (one real rendering, then distinct copies stored as the worker would have stored
them), so the test proves what the export does with stored files without rendering 1,000 of them.
"""
import copy
import csv
import http.cookiejar
import io
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import insert, select

from app.canonical import canonical_json, sha256_hex
from app.models import RecordVersion, RenderedPdf, Signature, Submission
from app.services.jobs import worker
from app.services.records import pdf
from tests.helpers.builders import PASSWORD
from tests.helpers.gunicorn import Gunicorn
from tests.test_signing import as_user, sign  # noqa: F401  (fixture and helper)

COUNT = 1000
UNSTORED = 3  # clones whose PDF is not stored yet: the export renders them inline and counts them


def signed_with_stored_pdf(app, db, as_user, users, make_record):
    """A record signed by the inspector, its PDF stored by the worker: (record, its version, the PDF, jobs run)."""
    app.config["PUBLIC_URL"] = "https://floorbook.test"
    record = make_record(users.operator)
    sign(as_user(users.inspector), record)
    ran = worker.run_due("test")
    db.session.expire_all()
    first = record.versions[-1]
    return record, first, pdf.read_stored(pdf.stored_states([first])[first.id]), ran


def clone_signed(db, record, count: int) -> list[int]:
    """count - 1 copies of a signed record (own ids, documents, hashes and signatures), inserted in bulk;
    their version ids."""
    version, signature = record.versions[-1], record.versions[-1].signatures[0]
    columns = {c.key: getattr(record, c.key) for c in Submission.__table__.columns}
    subs, versions, signatures = [], [], []
    for n in range(count - 1):
        new_id = str(uuid.UUID(int=n + 1))
        document = copy.deepcopy(version.document) | {"record_id": new_id}
        body = canonical_json(document)
        subs.append(columns | {"id": new_id})
        versions.append({"id": 10_000 + n, "submission_id": new_id, "version": 1, "canonical_json": body,
                         "sha256": sha256_hex(body), "created_at": version.created_at, "created_by_id": version.created_by_id})
    db.session.execute(insert(Submission), [s | {"current_sha256": v["sha256"]} for s, v in zip(subs, versions)])
    db.session.execute(insert(RecordVersion), versions)
    for v in versions:
        signatures.append({c.key: getattr(signature, c.key) for c in Signature.__table__.columns if c.key != "id"}
                          | {"record_version_id": v["id"], "content_sha256": v["sha256"]})
    db.session.execute(insert(Signature), signatures)
    db.session.commit()
    return [v["id"] for v in versions]


def seed_stored_pdfs(db, version_ids: list[int], template: bytes) -> dict[int, bytes]:
    """Store a distinct copy of template for the current state of each version, as the worker stores PDFs."""
    versions = list(db.session.scalars(select(RecordVersion).where(RecordVersion.id.in_(version_ids))))
    keys = pdf.state_keys(versions)
    stored, rows = {}, []
    for version_id, key in keys.items():
        data = template + f"\n% copy for record version {version_id}\n".encode()
        rows.append({"record_version_id": version_id, "state_key": key, "pdf_sha256": pdf.write_stored(data),
                     "size": len(data)})
        stored[version_id] = data
    db.session.execute(insert(RenderedPdf), rows)
    db.session.commit()
    return stored


def progress_text(app, client, export_id: str) -> tuple[str, str]:
    """The progress region's status as the page shows it, and its HTML. Asked from another thread, as another
    browser request would be: its own app context and session, not the streaming download's."""
    def ask() -> str:
        with app.app_context():
            return client.get(f"/records/exports/{export_id}?kind=zip&status=signed").get_data(as_text=True)
    with ThreadPoolExecutor(1) as pool:
        html = pool.submit(ask).result(timeout=60)
    return " ".join(re.search(r'role="status"[^>]*>(.*?)</span>', html, re.S).group(1).split()), html


def test_bulk_export_of_a_thousand_signed_records(app, as_user, users, make_record, db):
    """The streamed ZIP holds every record's stored PDF byte for byte and index.csv with 1,000 matching rows;
    meanwhile the progress region counts records out, then says done (with the 3 rendered on the way)."""
    record, first, template, ran = signed_with_stored_pdf(app, db, as_user, users, make_record)
    # The submit's job was still queued at the signature, so the signature's was the same job (dedupe):
    # one real rendering, of the signed state.
    assert ran == 1
    clones = clone_signed(db, record, COUNT)
    expected = seed_stored_pdfs(db, clones[UNSTORED:], template)
    expected[first.id] = template

    auditor, export_id = as_user(users.auditor), str(uuid.uuid4())
    response = auditor.get(f"/records/export.zip?status=signed&export={export_id}", buffered=False)
    assert response.status_code == 200 and response.mimetype == "application/zip" and response.is_streamed
    chunks = response.iter_encoded()
    body = [next(chunks) for _ in range(20)]
    watcher = as_user(users.auditor)
    status, html = progress_text(app, watcher, export_id)
    out = int(re.fullmatch(r"([\d,]+) of 1,000 records.*…", status).group(1).replace(",", ""))
    assert 0 < out < COUNT and "every 1s" in html and "<progress" in html
    body.extend(chunks)
    status, html = progress_text(app, watcher, export_id)
    assert status == "Done: 1,000 of 1,000 records." and "every 1s" not in html
    assert f"export={export_id}" not in html  # a finished export's link starts a new one

    archive = zipfile.ZipFile(io.BytesIO(b"".join(body)))
    pdfs = [name for name in archive.namelist() if name.endswith(".pdf")]
    assert len(pdfs) == COUNT and len(set(pdfs)) == COUNT
    assert {archive.getinfo(name).compress_type for name in pdfs} == {zipfile.ZIP_STORED}
    rows = list(csv.DictReader(io.StringIO(archive.read("index.csv").decode("utf-8"))))
    assert len(rows) == COUNT and {row["record_id"] for row in rows} == {name.split("-v")[0] for name in pdfs}
    versions = dict(db.session.execute(select(RecordVersion.submission_id, RecordVersion.id)).all())
    db.session.expire_all()
    rendered = {vid: pdf.read_stored(sha) for vid, sha in pdf.stored_states(
        list(db.session.scalars(select(RecordVersion).where(RecordVersion.id.in_(clones[:UNSTORED]))))).items()}
    assert len(rendered) == UNSTORED  # rendered on the way, and archived for the next export
    expected |= rendered
    for row in rows:
        data = archive.read(row["pdf_file"])
        assert data == expected[versions[row["record_id"]]] and sha256_hex(data) == row["pdf_sha256"]


class _BehindTLSProxy(http.cookiejar.DefaultCookiePolicy):
    """Send Secure cookies over the loopback hop, as a TLS-ending proxy in front of gunicorn would."""

    def return_ok_secure(self, cookie, request):
        return True


def test_a_streamed_export_outlasts_gunicorns_worker_timeout(app, as_user, users, make_record, db, database_url,
                                                            tmp_path):
    """Under gunicorn as shipped (gthread) with a 3 s worker timeout, an export that streams for longer (sixteen
    PDFs rendered on the way, after the PDF process starts) arrives whole, and no worker is killed."""
    record, _first, template, _ran = signed_with_stored_pdf(app, db, as_user, users, make_record)
    clones = clone_signed(db, record, 40)
    seed_stored_pdfs(db, clones[16:], template)
    auditor = users.auditor.username
    db.session.remove()
    server = Gunicorn(database_url, tmp_path, GUNICORN_CMD_ARGS="--timeout 3",
                      FLOORBOOK_PUBLIC_URL="https://floorbook.test").start()
    try:
        # The site is HTTPS (its cookies are Secure) with TLS ending in front of it: the test is that proxy.
        jar = http.cookiejar.CookieJar(policy=_BehindTLSProxy())
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(f"{server.url}/login").read().decode()
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        landed = opener.open(f"{server.url}/login", data=urllib.parse.urlencode(
            {"username": auditor, "password": PASSWORD, "csrf_token": token}).encode())
        assert landed.url.endswith("/records"), landed.url  # signed in: an auditor lands on the records
        started = time.monotonic()
        try:
            body = opener.open(f"{server.url}/records/export.zip?status=signed", timeout=120).read()
        except Exception:
            print("LOG", server.log.read_text(errors="replace")[-4000:])
            raise
        streamed_s = time.monotonic() - started
    finally:
        server.stop()
    log = server.log.read_text(errors="replace")
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert len([n for n in names if n.endswith(".pdf")]) == 40 and names[-1] == "index.csv", log[-2000:]
    assert streamed_s > 3 and "WORKER TIMEOUT" not in log, (streamed_s, log[-2000:])
