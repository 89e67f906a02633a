"""The `record_pdf` job: render and store a record version's PDF ahead of need (after a submit, a correction
or a signature), so the auditor's download and the bulk export find a stored file.

It renders the version's state at the time it runs, not the one at enqueue: a signature that lands while
a job is queued is in the PDF that job stores, and one that lands while it renders queues the next job
(dedupe counts only queued jobs). pdf.pdf_for renders a state at most once, whoever asks first.
"""
from flask import current_app, has_request_context, request

from app.extensions import db
from app.models import RecordVersion
from app.services.jobs.queue import enqueue
from app.services.jobs.registry import job_kind

KIND = "record_pdf"
GENERATED_BY = "Floorbook, stored when the record changed"


def _base_url() -> str | None:
    # The address printed in the PDF's verify link and QR code: FLOORBOOK_PUBLIC_URL, else the host of the
    # request that submitted or signed (what that person's own download would print). None outside a request
    # without a public URL (the demo seed, a script): no job then, the first download renders it.
    public = current_app.config.get("PUBLIC_URL")
    if public:
        return public.rstrip("/")
    return request.host_url.rstrip("/") if has_request_context() else None


def queue_record_pdf(version: RecordVersion) -> None:
    """Queue the rendering of version's PDF in the caller's transaction (once per version while queued)."""
    base_url = _base_url()
    if base_url is None:
        return
    enqueue(KIND, {"record_version_id": version.id, "base_url": base_url}, dedupe_key=f"{KIND}:{version.id}")


@job_kind(KIND, max_attempts=5)
def render_record_pdf(payload: dict) -> None:
    """Render and store the PDF of the version's current state (nothing when it is stored already)."""
    from app.services.records import pdf

    version = db.session.get(RecordVersion, payload["record_version_id"])
    if version is None:
        raise LookupError(f"record version {payload['record_version_id']} does not exist")
    pdf.pdf_for(version, GENERATED_BY, payload["base_url"])
