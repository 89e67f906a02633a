"""Record PDFs: HTML from templates/pdf/, rendered by WeasyPrint in the PDF worker, stored once per state."""
import base64
import fcntl
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import segno
from flask import current_app, render_template
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.canonical import canonical_json, sha256_hex
from app.database import end_transaction, read_only, writing
from app.extensions import db
from app.items import item_type
from app.models import Attachment, Deviation, RecordVersion, RenderedPdf, Signature
from app.models.types import utcnow
from app.services.quality import deviations
from app.services.records import item_views, record_history
from app.services.core import blobs
from app.services.records.pdf_worker import RENDER_TIMEOUT_S, render_in_worker
from app.services.records.record_document import RecordDocument

log = logging.getLogger(__name__)
_LOCK_SPACE = 0x70646600  # "pdf\0": the first key of pg_advisory_xact_lock(int, int) for render locks


@dataclass(frozen=True)
class StoredPdf:
    """A record PDF archived in the blob store under its sha256 (every state is archived: RecordState.worth_storing)."""

    sha256: str
    size: int
    stored: bool = True

    def read_bytes(self) -> bytes:
        """The PDF bytes, from the blob store."""
        return read_stored(self.sha256)


@dataclass(frozen=True)
class RecordState:
    """What a rendered PDF of a version shows beyond the frozen JSON: signatures, newest version, deviations."""

    signatures: list[Signature]
    latest: int
    key: str
    deviations: list[dict] = field(default_factory=list)

    def worth_storing(self, version: RecordVersion) -> bool:
        """Every state is archived, an unsigned current version's too: the state key names exactly what is
        printed (a signature, a newer version or a deviation step gives a new key and a new file), so a stored
        copy is never stale, and the worker can render it at submit for the first download and the export."""
        return True


def latest_version_number(submission_id: str) -> int:
    """The newest record version number of a submission."""
    return db.session.scalar(select(func.max(RecordVersion.version)).where(RecordVersion.submission_id == submission_id))


def record_state(version: RecordVersion) -> RecordState:
    """The version's signatures (oldest first), the newest version number, the deviations and their state key."""
    signatures = list(db.session.scalars(select(Signature).where(Signature.record_version_id == version.id)
                                         .order_by(Signature.signed_at, Signature.id)))
    latest = latest_version_number(version.submission_id)
    rows = deviations.print_rows(version.submission_id)
    return RecordState(signatures, latest, _key(version.sha256, latest, [s.id for s in signatures], rows), rows)


def _key(record_sha256: str, latest: int, signature_ids: list[int], rows: list[dict]) -> str:
    state = {"record_sha256": record_sha256, "latest_version": latest, "signature_ids": sorted(signature_ids)}
    if rows:  # a deviation's every step changes what is printed, so the stored PDF is rendered anew
        state["deviations_sha256"] = deviations.digest(rows)
    return sha256_hex(canonical_json(state))


def state_key(version: RecordVersion) -> str:
    """sha256 of (version sha256, signature ids, newest version number, deviations): any of them changes it."""
    return record_state(version).key


def read_stored(pdf_sha256: str) -> bytes:
    """An archived PDF's bytes, from the blob store (BlobMissing when not there, BlobDamaged when altered)."""
    return blobs.store().get(pdf_sha256)


def is_stored(pdf_sha256: str) -> bool:
    """True when the archived PDF with this sha256 is in the blob store."""
    return blobs.store().exists(pdf_sha256)


def _write(data: bytes) -> str:
    """Archive data in the blob store (the database store: in the transaction that records it); its sha256."""
    return blobs.store().put(data)


def _stored_row(version: RecordVersion, key: str) -> RenderedPdf | None:
    return db.session.scalar(select(RenderedPdf).where(RenderedPdf.record_version_id == version.id,
                                                       RenderedPdf.state_key == key))


def stored_pdf(version: RecordVersion, key: str) -> StoredPdf | None:
    """The archived PDF of version in the state key names, when it is in storage."""
    row = _stored_row(version, key)
    if row is None or not is_stored(row.pdf_sha256):
        return None
    return StoredPdf(sha256=row.pdf_sha256, size=row.size)


@contextmanager
def render_lock(key: str) -> Iterator[None]:
    """Hold the right to render the state key names, across threads, processes and (PostgreSQL) hosts.

    A download that arrives while the worker renders the same state waits here, then finds the stored file
    instead of rendering it a second time. PostgreSQL: a transaction-level advisory lock on a connection of
    its own. SQLite (one host): an flock of one of 256 files in a folder beside the database file. A wait that outlasts
    the longest render goes on without the lock: the work may then be done twice, the PDF is still right.
    """
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            try:
                conn.execute(text(f"SET LOCAL lock_timeout = '{RENDER_TIMEOUT_S + 20}s'"))
                conn.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                             {"space": _LOCK_SPACE, "key": int(key[:7], 16)})
            except DBAPIError:
                log.warning("waited too long for the render of PDF state %s; rendering it here", key)
                conn.rollback()
            try:
                yield
            finally:
                conn.rollback()  # ends the transaction, and with it the lock
        return
    # Beside the database file, like its write lock: every server that shares the file shares the locks.
    database = db.engine.url.database
    folder = Path(f"{database}.pdf-locks") if database and database != ":memory:" else \
        Path(current_app.instance_path) / "pdf-locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{key[:2]}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # the holder renders for at most RENDER_TIMEOUT_S
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pdf_for(version: RecordVersion, generated_by: str, base_url: str) -> StoredPdf:
    """The PDF of version in its current state: the archived file, else rendered once (by whoever comes
    first: the worker after a submit or a signature, a download, an export) and archived."""
    state = record_state(version)
    found = stored_pdf(version, state.key)
    if found is not None:
        return found
    end_transaction(db.session)  # wait for the render lock holding no write lock (the renderer needs it)
    with render_lock(state.key):
        read_only(db.session)  # a new snapshot: it sees what the renderer we waited for committed
        found = stored_pdf(version, state.key)
        if found is not None:
            return found
        data = render_record_pdf(version, state, generated_by, base_url)
        writing(db.session)
        return _archive(version, state, data)


def _archive(version: RecordVersion, state: RecordState, data: bytes) -> StoredPdf:
    digest = sha256_hex(data)
    _write(data)
    row = _stored_row(version, state.key)
    if row is not None:
        # The archived file went missing (a restore without the blobs): the new rendering takes its place.
        log.warning("stored PDF %s of record version %s was missing; re-rendered as %s",
                    row.pdf_sha256, version.id, digest)
        row.pdf_sha256, row.size = digest, len(data)
    else:
        db.session.add(RenderedPdf(record_version_id=version.id, state_key=state.key, pdf_sha256=digest,
                                   size=len(data)))
    try:
        db.session.commit()
    except IntegrityError:
        # Another renderer (one that did not wait for the lock) archived this state first: serve its file so
        # that every download is the same PDF. (A folder store keeps this copy's blob: blobs are never deleted.)
        db.session.rollback()
        winner = _stored_row(version, state.key)
        return StoredPdf(sha256=winner.pdf_sha256, size=winner.size)
    return StoredPdf(sha256=digest, size=len(data))


def write_stored(data: bytes) -> str:
    """Store PDF bytes by their sha256 (no row: the caller records which state they print); the sha256."""
    return _write(data)


def state_keys(versions: list[RecordVersion]) -> dict[int, str]:
    """The state key of each version (loaded with its signatures and its submission's versions), by id:
    the same keys as record_state, with one query for the batch's deviations instead of three per record."""
    submission_ids = {v.submission_id for v in versions}
    with_deviations = set(db.session.scalars(select(Deviation.submission_id).distinct()
                                             .where(Deviation.submission_id.in_(submission_ids)))) if versions else set()
    keys = {}
    for version in versions:
        latest = max(v.version for v in version.submission.versions)
        rows = deviations.print_rows(version.submission_id) if version.submission_id in with_deviations else []
        keys[version.id] = _key(version.sha256, latest, [s.id for s in version.signatures], rows)
    return keys


def stored_states(versions: list[RecordVersion]) -> dict[int, str]:
    """For versions loaded with their signatures and their submission's versions (the export's batch): the
    pdf_sha256 archived for each one's current state, by version id; absent when not archived yet.

    Two queries for the whole batch instead of five per record.
    """
    keys = state_keys(versions)
    if not keys:
        return {}
    found = db.session.execute(select(RenderedPdf.record_version_id, RenderedPdf.state_key, RenderedPdf.pdf_sha256)
                               .where(RenderedPdf.record_version_id.in_(keys),
                                      RenderedPdf.state_key.in_(keys.values())))
    return {vid: sha for vid, key, sha in found if keys[vid] == key}


def render_record_pdf(version: RecordVersion, state: RecordState, generated_by: str, base_url: str) -> bytes:
    """Render the HTML here (Jinja needs the app) and the PDF in the worker process."""
    html = record_html(version, state, generated_by, base_url)
    static = Path(current_app.static_folder)
    # Photos come inside the HTML as data: URIs (_photos), so the fetcher reads no folder but our static files.
    return render_in_worker(html, static.as_uri() + "/", [str(static)], version.canonical_json,
                            version.sha256[:32].encode("ascii"))


def record_html(version: RecordVersion, state: RecordState, generated_by: str, base_url: str) -> str:
    """The record as print HTML (templates/pdf/record.html)."""
    return render_template("pdf/record.html", **record_context(version, state, generated_by, base_url))


def record_context(version: RecordVersion, state: RecordState, generated_by: str, base_url: str) -> dict:
    """Everything record.html shows: the version's item views plus signatures, photos, history and stamps."""
    doc, submission = version.document, version.submission
    form_version = submission.form_version
    superseded_by = state.latest if state.latest > version.version else None
    stamps = ([f"SUPERSEDED BY VERSION {superseded_by}"] if superseded_by else []) + \
             ([] if state.signatures else ["NOT SIGNED"])
    verify_url = f"{base_url.rstrip('/')}/verify?sha256={version.sha256}"
    history = record_history.record_history(submission, version.version)
    changed = {c.item: c.version for c in history.corrections if c.item}
    return {
        "doc": doc, "sha256": version.sha256, "latest": state.latest, "superseded_by": superseded_by,
        "stamps": stamps, "signatures": state.signatures,
        "sign_off": form_version.definition.get("sign_off", []), "form_published_at": form_version.published_at,
        "snapshot": item_views.from_document(version.record, form_version.definition, changed=changed),
        "photos": _photos(version.record),
        "history": history, "deviations": state.deviations,
        "generated_at": utcnow(), "generated_by": generated_by, "verify_url": verify_url,
        "qr": segno.make(verify_url, error="m").svg_data_uri(scale=4, border=0),
    }


def _photos(doc: RecordDocument) -> dict[str, dict]:
    """Each photo's display derivative (as a data: URI read from the blob store) and details, by original sha256."""
    wanted = [sha for item in item_views.frozen_items(doc) if item_type(item.type).takes_photos and item.value
              for sha in item.value]
    if not wanted:
        return {}
    store = blobs.store()
    found = {}
    for attachment in db.session.scalars(select(Attachment).where(Attachment.sha256.in_(wanted))):
        try:
            src = "data:image/jpeg;base64," + base64.b64encode(store.get(attachment.derivative_sha256)).decode("ascii")
        except (blobs.BlobMissing, blobs.BlobDamaged) as error:
            log.warning("photo %s of a record PDF: %s", attachment.sha256, error)
            src = None  # the PDF says "Photo file not found in storage" in its place
        found[attachment.sha256] = {"src": src, "uploaded_at": attachment.uploaded_at,
                                    "width": attachment.width, "height": attachment.height}
    return found
