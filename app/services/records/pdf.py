"""Record PDFs: HTML from templates/pdf/, rendered by WeasyPrint in the PDF worker, stored once per state."""
import base64
import logging
from dataclasses import dataclass, field
from pathlib import Path

import segno
from flask import current_app, render_template
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.canonical import canonical_json, sha256_hex
from app.extensions import db
from app.items import item_type
from app.models import Attachment, RecordVersion, RenderedPdf, Signature
from app.models.types import utcnow
from app.services.quality import deviations
from app.services.records import item_views, record_history
from app.services.core import blobs
from app.services.records.pdf_worker import render_in_worker
from app.services.records.record_document import RecordDocument

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredPdf:
    """A record PDF: archived in the blob store under its sha256, or the bytes of a copy that is not archived (data)."""

    sha256: str
    size: int
    data: bytes | None = None

    @property
    def stored(self) -> bool:
        """True when the PDF is the archived copy in the blob store."""
        return self.data is None

    def read_bytes(self) -> bytes:
        """The PDF bytes, from memory or from the blob store."""
        return self.data if self.data is not None else read_stored(self.sha256)


@dataclass(frozen=True)
class RecordState:
    """What a rendered PDF of a version shows beyond the frozen JSON: signatures, newest version, deviations."""

    signatures: list[Signature]
    latest: int
    key: str
    deviations: list[dict] = field(default_factory=list)

    def worth_storing(self, version: RecordVersion) -> bool:
        """Signed or superseded copies are archived; an unsigned current version is still changing."""
        return bool(self.signatures) or self.latest > version.version


def latest_version_number(submission_id: str) -> int:
    """The newest record version number of a submission."""
    return db.session.scalar(select(func.max(RecordVersion.version)).where(RecordVersion.submission_id == submission_id))


def record_state(version: RecordVersion) -> RecordState:
    """The version's signatures (oldest first), the newest version number, the deviations and their state key."""
    signatures = list(db.session.scalars(select(Signature).where(Signature.record_version_id == version.id)
                                         .order_by(Signature.signed_at, Signature.id)))
    latest = latest_version_number(version.submission_id)
    rows = deviations.print_rows(version.submission_id)
    state = {"record_sha256": version.sha256, "latest_version": latest,
             "signature_ids": sorted(s.id for s in signatures)}
    if rows:  # a deviation's every step changes what is printed, so the stored PDF is rendered anew
        state["deviations_sha256"] = deviations.digest(rows)
    return RecordState(signatures, latest, sha256_hex(canonical_json(state)), rows)


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


def pdf_for(version: RecordVersion, generated_by: str, base_url: str) -> StoredPdf:
    """The PDF of version in its current state: the archived file, or a new rendering (archived when signed or superseded)."""
    state = record_state(version)
    row = _stored_row(version, state.key)
    if row is not None and is_stored(row.pdf_sha256):
        return StoredPdf(sha256=row.pdf_sha256, size=row.size)
    data = render_record_pdf(version, state, generated_by, base_url)
    digest = sha256_hex(data)
    if not state.worth_storing(version):
        return StoredPdf(sha256=digest, size=len(data), data=data)
    _write(data)
    if row is not None:
        # The archived file went missing (a restore without the blobs): the new rendering takes its place.
        log.warning("stored PDF %s of record version %s was missing; re-rendered as %s", row.pdf_sha256, version.id, digest)
        row.pdf_sha256, row.size = digest, len(data)
    else:
        db.session.add(RenderedPdf(record_version_id=version.id, state_key=state.key, pdf_sha256=digest, size=len(data)))
    try:
        db.session.commit()
    except IntegrityError:
        # Another request archived this state first; serve its file so that every download is the same PDF.
        # (A folder store keeps this copy's blob: blobs are never deleted, another row may name the same bytes.)
        db.session.rollback()
        winner = _stored_row(version, state.key)
        return StoredPdf(sha256=winner.pdf_sha256, size=winner.size)
    return StoredPdf(sha256=digest, size=len(data))


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
