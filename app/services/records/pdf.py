"""Record PDFs: HTML from templates/pdf/, rendered by WeasyPrint in the PDF worker, stored once per state."""
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
from app.services.floor.attachments import derivative_path
from app.services.records.pdf_worker import render_in_worker
from app.services.records.record_document import RecordDocument

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredPdf:
    """A record PDF: a stored file (path), or the bytes of a copy that is not archived (data)."""

    path: Path | None
    sha256: str
    size: int
    data: bytes | None = None

    @property
    def stored(self) -> bool:
        """True when the PDF is the archived file at path."""
        return self.path is not None

    def read_bytes(self) -> bytes:
        """The PDF bytes, from memory or from storage."""
        return self.data if self.data is not None else self.path.read_bytes()


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


def _pdf_path(digest: str) -> Path:
    return Path(current_app.instance_path) / "pdfs" / digest[:2] / f"{digest}.pdf"


def _write(data: bytes, digest: str) -> Path:
    path = _pdf_path(digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".pdf.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # readers see the whole file or none of it
    return path


def _stored_row(version: RecordVersion, key: str) -> RenderedPdf | None:
    return db.session.scalar(select(RenderedPdf).where(RenderedPdf.record_version_id == version.id,
                                                       RenderedPdf.state_key == key))


def pdf_for(version: RecordVersion, generated_by: str, base_url: str) -> StoredPdf:
    """The PDF of version in its current state: the archived file, or a new rendering (archived when signed or superseded)."""
    state = record_state(version)
    row = _stored_row(version, state.key)
    if row is not None and _pdf_path(row.pdf_sha256).is_file():
        return StoredPdf(path=_pdf_path(row.pdf_sha256), sha256=row.pdf_sha256, size=row.size)
    data = render_record_pdf(version, state, generated_by, base_url)
    digest = sha256_hex(data)
    if not state.worth_storing(version):
        return StoredPdf(path=None, sha256=digest, size=len(data), data=data)
    path = _write(data, digest)
    if row is not None:
        # The archived file went missing (a restore without instance/pdfs): the new rendering takes its place.
        log.warning("stored PDF %s of record version %s was missing; re-rendered as %s", row.pdf_sha256, version.id, digest)
        row.pdf_sha256, row.size = digest, len(data)
    else:
        db.session.add(RenderedPdf(record_version_id=version.id, state_key=state.key, pdf_sha256=digest, size=len(data)))
    try:
        db.session.commit()
    except IntegrityError:
        # Another request archived this state first; serve its file so that every download is the same PDF.
        db.session.rollback()
        winner = _stored_row(version, state.key)
        if winner.pdf_sha256 != digest:
            path.unlink(missing_ok=True)
        return StoredPdf(path=_pdf_path(winner.pdf_sha256), sha256=winner.pdf_sha256, size=winner.size)
    return StoredPdf(path=path, sha256=digest, size=len(data))


def render_record_pdf(version: RecordVersion, state: RecordState, generated_by: str, base_url: str) -> bytes:
    """Render the HTML here (Jinja needs the app) and the PDF in the worker process."""
    html = record_html(version, state, generated_by, base_url)
    static = Path(current_app.static_folder)
    roots = [str(static), str(Path(current_app.instance_path) / "attachments")]
    return render_in_worker(html, static.as_uri() + "/", roots, version.canonical_json,
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
    """Each photo's display derivative (as a file URL) and capture details, by original sha256."""
    wanted = [sha for item in item_views.frozen_items(doc) if item_type(item.type).takes_photos and item.value for sha in item.value]
    if not wanted:
        return {}
    root = Path(current_app.instance_path)
    found = {}
    for attachment in db.session.scalars(select(Attachment).where(Attachment.sha256.in_(wanted))):
        path = derivative_path(root, attachment)
        found[attachment.sha256] = {"src": path.as_uri() if path.is_file() else None,
                                    "uploaded_at": attachment.uploaded_at,
                                    "width": attachment.width, "height": attachment.height}
    return found
