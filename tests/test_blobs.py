"""The blob store: files named by their sha256 in a folder or the database, photos and PDFs through it, the
import of files kept before it, its check, and its backup and restore."""
import hashlib
import io
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pikepdf
import pytest
from PIL import Image
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.config import TestingConfig
from app.extensions import db as _db
from app.models import Attachment, Blob, RenderedPdf
from app.services.core import blobs
from app.services.core.blobs import CHUNK_BYTES, BlobDamaged, BlobMissing, init_blobs
from app.services.records import pdf
from tests.helpers.photos import jpeg_with_exif, png
from tests.test_pdf import sign

STORES = ["folder", "database"]


@pytest.fixture(params=STORES)
def store_kind(request, app):
    """The test's app with FLOORBOOK_BLOB_STORE set to each store in turn (as create_app would open it)."""
    app.config["BLOB_STORE"] = request.param
    init_blobs(app)
    return request.param


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def cli(app, *args: str):
    runner = app.test_cli_runner()
    return runner.invoke(args=list(args))


def test_put_names_bytes_by_their_sha256_and_reads_them_back(app, db, store_kind):
    """put returns the sha256; get, chunks, exists and size read the same bytes back; a second put adds nothing."""
    store = blobs.store()
    data = bytes(range(256)) * (CHUNK_BYTES * 5 // 2 // 256)  # two and a half chunks
    digest = store.put(data)
    db.session.commit()
    assert digest == hashlib.sha256(data).hexdigest()
    assert store.exists(digest) and store.size(digest) == len(data) and store.get(digest) == data
    chunks = list(store.chunks(digest))
    assert [len(c) for c in chunks] == [CHUNK_BYTES, CHUNK_BYTES, len(data) - 2 * CHUNK_BYTES]
    assert b"".join(chunks) == data
    assert store.put(data) == digest
    db.session.commit()
    rows = db.session.scalar(select(func.count()).select_from(Blob))
    folder = Path(app.instance_path).resolve() / "blobs"
    if store_kind == "folder":
        assert files_under(folder) == [folder / digest[:2] / digest] and rows == 0
    else:
        assert rows == 1 and files_under(folder) == []
    assert not store.exists("0" * 64)
    with pytest.raises(BlobMissing):
        store.get("0" * 64)
    with pytest.raises(BlobMissing):
        store.chunks("0" * 64)


@pytest.mark.parametrize("name", ["../../etc/passwd", "A" * 64, "0" * 63, "", "0" * 64 + "/x"])
def test_a_name_that_is_not_a_sha256_finds_nothing(app, store_kind, name):
    """Names are 64 lowercase hex digits, so no name reaches outside the store (no path, no other key)."""
    store = blobs.store()
    with pytest.raises(BlobMissing, match="not a blob name"):
        store.get(name)
    assert not store.exists(name)


def test_the_database_store_writes_in_the_callers_transaction(app, db, store_kind):
    """A blob put in a transaction that rolls back is not stored (database), or stays a harmless file (folder)."""
    store = blobs.store()
    digest = store.put(b"rolled back")
    db.session.rollback()
    assert store.exists(digest) == (store_kind == "folder")


def test_damaged_bytes_are_refused_not_served(app, db, store_kind):
    """Bytes changed after the write (a disk fault, a hand edit) raise BlobDamaged on get and end a stream early."""
    store = blobs.store()
    data = b"x" * (CHUNK_BYTES + 10)
    digest = store.put(data)
    db.session.commit()
    damaged = b"y" + data[1:]
    if store_kind == "folder":
        store.path(digest).write_bytes(damaged)
    else:
        db.session.execute(text("UPDATE blob SET data = :data WHERE sha256 = :sha"), {"data": damaged, "sha": digest})
        db.session.commit()
    with pytest.raises(BlobDamaged, match=digest):
        store.get(digest)
    received = []
    with pytest.raises(BlobDamaged):
        for chunk in store.chunks(digest):
            received.append(chunk)
    assert sum(map(len, received)) < len(data)  # the stream never completes with wrong bytes


def test_folder_writes_leave_no_temporary_files(app, db):
    """A folder write is aside-then-rename: only <aa>/<sha256> remains."""
    store = blobs.store()
    names = {store.put(bytes([n]) * 1000) for n in range(5)}
    assert {p.name for p in files_under(store.root)} == names


def test_an_unknown_store_stops_start_up(database_url, tmp_path):
    """FLOORBOOK_BLOB_STORE other than folder or database is refused at create_app, saying what is accepted."""
    refused = r"FLOORBOOK_BLOB_STORE='s3' is not a blob store: expected 'folder'.*'database'"
    with pytest.raises(RuntimeError, match=refused):
        create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, INSTANCE_PATH=str(tmp_path / "i"),
                   BLOB_STORE="s3")


def test_an_unusable_blob_folder_stops_start_up(database_url, tmp_path):
    """FLOORBOOK_BLOB_DIR that cannot be a folder (here, under a file) is refused at start-up, named."""
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(RuntimeError, match=r"FLOORBOOK_BLOB_DIR='.*a-file/blobs' cannot be used as the blob folder"):
        create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, INSTANCE_PATH=str(tmp_path / "i"),
                   BLOB_DIR=str(tmp_path / "a-file" / "blobs"))


def test_a_shared_blob_folder_is_used_as_given(database_url, tmp_path):
    """FLOORBOOK_BLOB_DIR puts the blobs where every server reaches them, not under instance/."""
    shared = tmp_path / "shared-blobs"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, INSTANCE_PATH=str(tmp_path / "i"),
                     BLOB_DIR=str(shared))
    with app.app_context():
        digest = blobs.store().put(b"shared")
    assert (shared / digest[:2] / digest).read_bytes() == b"shared"


def upload(client, draft, data: bytes):
    return client.post_form(f"/floor/submissions/{draft.id}/items/guard_photo/photo",
                            {"photo": (io.BytesIO(data), "guard.jpg")}, htmx=True, content_type="multipart/form-data")


def test_a_photo_goes_through_the_store_and_is_served_without_exif(app, db, login, users, start_draft, store_kind):
    """Upload: original and derivative are blobs; the photo route serves the EXIF-free derivative, ETag and 304."""
    operator = login(users.operator, tablet=True)
    draft = start_draft(users.operator)
    data = jpeg_with_exif((400, 300))
    assert upload(operator, draft, data).status_code == 200
    attachment = db.session.scalar(select(Attachment))
    store = blobs.store()
    assert store.get(attachment.sha256) == data  # the original is kept as taken
    served = operator.get(f"/floor/photos/{attachment.sha256}.jpg")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.data == store.get(attachment.derivative_sha256) and b"SecretCam" not in served.data
    assert not Image.open(io.BytesIO(served.data)).getexif()
    assert served.headers["ETag"] == f'"{attachment.derivative_sha256}"' and "Last-Modified" in served.headers
    assert served.headers["Cache-Control"] == "no-store"
    again = operator.get(f"/floor/photos/{attachment.sha256}.jpg", headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert (files_under(Path(app.instance_path) / "blobs") == []) == (store_kind == "database")
    assert not (Path(app.instance_path) / "attachments").exists()


def test_a_missing_photo_blob_is_a_clear_404_not_a_crash(app, db, login, users, start_draft):
    """A photo whose derivative is gone from the store answers 404 naming it, not 500."""
    operator = login(users.operator, tablet=True)
    draft = start_draft(users.operator)
    upload(operator, draft, png())
    attachment = db.session.scalar(select(Attachment))
    blobs.store().path(attachment.derivative_sha256).unlink()
    response = operator.get(f"/floor/photos/{attachment.sha256}.jpg")
    assert response.status_code == 404 and "not in the blob store" in response.get_data(as_text=True)


def test_a_signed_pdf_is_archived_in_the_store_with_its_photo_embedded(app, db, login, users, make_record,
                                                                       store_kind):
    """The PDF download archives the blob, serves those bytes with their ETag, and carries the photo drawn once."""
    record = make_record(users.operator)
    sign(record.versions[-1], users.inspector)
    auditor = login(users.auditor)
    response = auditor.get(f"/records/{record.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    row = db.session.scalar(select(RenderedPdf))
    assert response.data == blobs.store().get(row.pdf_sha256) and response.headers["ETag"] == f'"{row.pdf_sha256}"'
    with pikepdf.open(io.BytesIO(response.data)) as document:
        # WeasyPrint shares one resource dictionary between pages: count each image object once.
        images = {x.objgen: (int(x.Width), int(x.Height)) for page in document.pages
                  for x in page.Resources.get("/XObject", {}).values() if x.get("/Subtype") == "/Image"}
    assert list(images.values()) == [(32, 32)]  # the photo, from the store as a data: URI (no file to fetch)
    assert auditor.get(f"/records/{record.id}.pdf").data == response.data


def legacy_plant(app, db, users) -> dict[str, Path]:
    """Files as kept before the blob store: a photo (original + derivative) and a PDF, with the rows naming them."""
    instance = Path(app.instance_path)
    original, derivative, pdf = png((40, 30)), jpeg_with_exif((40, 30)), b"%PDF-1.7 archived before the store"
    names = {kind: hashlib.sha256(data).hexdigest() for kind, data in
             (("original", original), ("derivative", derivative), ("pdf", pdf))}
    paths = {"original": instance / "attachments" / names["original"][:2] / f"{names['original']}.orig",
             "derivative": instance / "attachments" / names["derivative"][:2] / f"{names['derivative']}.jpg",
             "pdf": instance / "pdfs" / names["pdf"][:2] / f"{names['pdf']}.pdf"}
    for kind, data in (("original", original), ("derivative", derivative), ("pdf", pdf)):
        paths[kind].parent.mkdir(parents=True, exist_ok=True)
        paths[kind].write_bytes(data)
    (paths["pdf"].parent / f"{names['pdf']}.pdf.tmp").write_bytes(b"half a file")  # an interrupted old write
    db.session.add(Attachment(sha256=names["original"], content_type="image/png", size=len(original),
                              derivative_sha256=names["derivative"], width=40, height=30,
                              uploaded_by_id=users.operator.id))
    db.session.commit()
    return paths


def test_an_upgraded_server_reads_the_old_files_until_they_are_imported(app, db, users, login, make_record,
                                                                       monkeypatch, store_kind):
    """Started over instance/attachments and instance/pdfs, a server serves their photo and archived PDF at once
    (checked against their names, never rendered anew), writing nothing; `blobs check` says to import them."""
    paths = legacy_plant(app, db, users)
    record = make_record(users.operator)
    sign(record.versions[-1], users.inspector)
    version = record.versions[-1]
    pdf_bytes = paths["pdf"].read_bytes()
    db.session.add(RenderedPdf(record_version_id=version.id, state_key=pdf.state_key(version),
                               pdf_sha256=paths["pdf"].stem, size=len(pdf_bytes)))
    db.session.commit()
    init_blobs(app)  # the upgraded server starts
    monkeypatch.setattr(pdf, "render_in_worker", lambda *a, **k: pytest.fail("an archived PDF was rendered anew"))
    uploader, auditor = login(users.operator, tablet=True), login(users.auditor)  # a photo in no record: its uploader's
    assert uploader.get(f"/floor/photos/{paths['original'].stem}.jpg").data == paths["derivative"].read_bytes()
    assert auditor.get(f"/records/{record.id}.pdf").data == pdf_bytes
    assert not blobs.configured_store().exists(paths["pdf"].stem)  # read through, not copied
    check = cli(app, "blobs", "check")
    assert check.exit_code == 1 and "copy them in with `flask --app wsgi blobs import`" in check.stderr


def test_import_copies_the_files_kept_before_the_store_once(app, db, users, login, store_kind):
    """blobs import: each old file lands under its name in the configured store; a second run copies nothing."""
    paths = legacy_plant(app, db, users)
    init_blobs(app)
    result = cli(app, "blobs", "import")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("3 file(s) imported into ") and "0 there already" in result.output
    for path in paths.values():
        assert blobs.configured_store().get(path.stem) == path.read_bytes() and path.exists()  # the old files stay
    derivative = paths["derivative"].read_bytes()
    shutil.rmtree(Path(app.instance_path) / "attachments")  # once imported, the old folders may go
    shutil.rmtree(Path(app.instance_path) / "pdfs")
    init_blobs(app)
    operator = login(users.operator)
    assert operator.get(f"/floor/photos/{paths['original'].stem}.jpg").data == derivative
    assert cli(app, "blobs", "check").exit_code == 0
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blobs.store().get(path.stem))
    again = cli(app, "blobs", "import")
    assert again.exit_code == 0 and again.output.startswith("0 file(s) imported") and "3 there already" in again.output


def test_import_refuses_a_file_whose_bytes_are_not_its_name(app, db, users, store_kind):
    """An old file changed since it was written is named and left out (exit 1); the others are imported."""
    paths = legacy_plant(app, db, users)
    paths["pdf"].write_bytes(b"%PDF-1.7 altered")
    result = cli(app, "blobs", "import")
    assert result.exit_code == 1 and result.output.startswith("2 file(s) imported")
    assert f"refused: {paths['pdf']}: its bytes do not have the sha256 its name says" in result.stderr
    assert not blobs.configured_store().exists(paths["pdf"].stem)


def test_check_names_every_missing_or_damaged_blob(app, db, users, login, start_draft, make_record):
    """blobs check reads every blob a row names: all good exits 0; a missing and a damaged one are each named."""
    record = make_record(users.operator)
    sign(record.versions[-1], users.inspector)
    login(users.auditor).get(f"/records/{record.id}.pdf")
    good = cli(app, "blobs", "check")
    assert good.exit_code == 0 and good.output.startswith("3 blob(s) checked in the folder "), good.output
    attachment, rendered = db.session.scalar(select(Attachment)), db.session.scalar(select(RenderedPdf))
    store = blobs.store()
    store.path(attachment.derivative_sha256).unlink()
    store.path(rendered.pdf_sha256).write_bytes(b"%PDF-1.7 not the archived bytes")
    bad = cli(app, "blobs", "check")
    assert bad.exit_code == 1
    assert f"photo {attachment.sha256} (derivative): blob {attachment.derivative_sha256} is missing" in bad.stderr
    assert f"PDF of record version id {rendered.record_version_id}: blob {rendered.pdf_sha256} is damaged" in bad.stderr
    assert "2 of 3 blob(s) missing or damaged" in bad.stderr


def test_backup_copies_the_blob_folder_and_a_restore_serves_the_photo(app, db, users, login, start_draft, dialect,
                                                                    databases, tmp_path):
    """backup PATH: the database and PATH.blobs/; restored into a new instance, the photo is served from it."""
    if dialect != "sqlite" and shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is missing: install postgresql-client")
    operator = login(users.operator, tablet=True)
    upload(operator, start_draft(users.operator), jpeg_with_exif())
    attachment = db.session.scalar(select(Attachment))
    served = operator.get(f"/floor/photos/{attachment.sha256}.jpg").data
    target = tmp_path / "backups" / "floorbook.backup"
    first = cli(app, "backup", str(target))
    folder = tmp_path / "backups" / "floorbook.backup.blobs"
    assert first.exit_code == 0 and f"blobs: 2 file(s) copied to {folder}, 0 there already" in first.output
    assert {p.name for p in files_under(folder)} == {attachment.sha256, attachment.derivative_sha256}
    second = cli(app, "backup", str(target))
    assert second.exit_code == 0 and "blobs: 0 file(s) copied" in second.output and "2 there already" in second.output

    # Restore as the README says: the database from its backup, the blob files into the (new) blob folder.
    restored_url = restore_database(dialect, target, databases, tmp_path)
    instance = tmp_path / "restored-instance"
    shutil.copytree(folder, instance / "blobs")
    restored = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=restored_url, INSTANCE_PATH=str(instance))
    try:
        with restored.app_context():
            check = restored.test_cli_runner().invoke(args=["blobs", "check"])
            assert check.exit_code == 0 and check.output.startswith("2 blob(s) checked"), check.output
            assert blobs.store().get(attachment.derivative_sha256) == served
    finally:
        with restored.app_context():
            _db.session.remove()
            _db.engine.dispose()
        if dialect != "sqlite":
            databases.drop(restored_url)


def restore_database(dialect: str, backup: Path, databases, tmp_path: Path) -> str:
    """The backup file put back as a live database: a file copy (SQLite) or pg_restore into a new database."""
    if dialect == "sqlite":
        path = tmp_path / "restored.sqlite3"
        shutil.copyfile(backup, path)
        assert sqlite3.connect(path).execute("select count(*) from attachment").fetchone()[0] == 1
        return f"sqlite:///{path}"
    base = make_url(databases.new())  # a scratch name of the test's own; emptied and restored below
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{base.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{base.database}"'))
    admin.dispose()
    plain = base.set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(["pg_restore", "--no-owner", f"--dbname={plain}", str(backup)], check=True)
    return base.render_as_string(hide_password=False)


def test_backup_with_the_database_store_says_the_blobs_are_in_it(app, db, users, login, start_draft, dialect,
                                                                 tmp_path):
    """With FLOORBOOK_BLOB_STORE=database no blob folder is written: the blobs are rows of the backup."""
    if dialect != "sqlite" and shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is missing: install postgresql-client")
    app.config["BLOB_STORE"] = "database"
    init_blobs(app)
    upload(login(users.operator, tablet=True), start_draft(users.operator), png())
    target = tmp_path / "floorbook.backup"
    result = cli(app, "backup", str(target))
    assert result.exit_code == 0 and "blobs: stored in the database, so they are in that backup" in result.output
    assert not (tmp_path / "floorbook.backup.blobs").exists()
    if dialect == "sqlite":
        assert sqlite3.connect(target).execute("select count(*) from blob").fetchone()[0] == 2


def test_backup_names_a_damaged_blob_and_copies_the_others(app, db, tmp_path):
    """A blob whose bytes no longer hash to its name is not copied into the backup; it is named, exit 1."""
    store = blobs.store()
    good, bad = store.put(b"good photo"), store.put(b"photo to damage")
    store.path(bad).write_bytes(b"damaged")
    target = tmp_path / "floorbook.backup"
    result = cli(app, "backup", str(target))
    assert result.exit_code == 1 and "blobs: 1 file(s) copied" in result.output
    assert f"not backed up: blob {bad}: its stored bytes have another sha256" in result.stderr
    assert [p.name for p in files_under(tmp_path / "floorbook.backup.blobs")] == [good]
