"""Bulk export at scale: 1,000 signed records stream out as a ZIP of 1,000 PDFs and a matching index."""
import copy
import csv
import io
import json
import uuid
import zipfile

from sqlalchemy import insert

from app.canonical import canonical_json, sha256_hex
from app.models import RecordVersion, Signature, Submission
from tests.test_signing import as_user, sign  # noqa: F401  (fixture and helper)

COUNT = 1000


def clone_signed(db, record, count: int) -> None:
    """count copies of a signed record (own ids, documents, hashes and signatures), inserted in bulk."""
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


def test_bulk_export_of_a_thousand_signed_records(as_user, users, make_record, db):
    """The streamed ZIP holds 1,000 PDFs and index.csv with 1,000 rows whose pdf_sha256 match the members."""
    record = make_record(users.operator)
    sign(as_user(users.inspector), record)
    clone_signed(db, record, COUNT)
    response = as_user(users.auditor).get("/records/export.zip?status=signed")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.is_streamed
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    pdfs = [name for name in archive.namelist() if name.endswith(".pdf")]
    assert len(pdfs) == COUNT and len(set(pdfs)) == COUNT
    rows = list(csv.DictReader(io.StringIO(archive.read("index.csv").decode("utf-8"))))
    assert len(rows) == COUNT
    for row in rows[:: COUNT // 50]:
        data = archive.read(row["pdf_file"])
        assert data.startswith(b"%PDF") and sha256_hex(data) == row["pdf_sha256"]
    assert {row["record_id"] for row in rows} == {name.split("-v")[0] for name in pdfs}
