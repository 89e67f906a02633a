"""Record PDF cost: median render time of a demo record's PDF (HTML here, WeasyPrint in the PDF worker process)
against a minimal one-page document through the same worker in the same run, and the time to serve a stored PDF.

Run: .venv/bin/python bench/pdf.py   (or `make bench`)
"""
import io
import statistics
import time
from datetime import timedelta
from pathlib import Path

from common import migrated_app, timed
from pypdf import PdfReader  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app.config import ROOT  # noqa: E402

ROUNDS = 7
STORED_ROUNDS = 200
MINIMAL = "<!doctype html><title>Minimal</title><p>One line on one page.</p>"


def main() -> None:
    with migrated_app() as (app, tmp):
        from app.extensions import db
        from app.models import RecordVersion, Signature, User
        from app.services.records import pdf
        from app.services.demo import seed_demo
        from app.services.records.pdf_worker import render_in_worker
        seed_demo(ROOT / "forms", tmp / "instance", days=1)
        # The largest demo record with a photo: the heaviest ordinary record a person downloads.
        by_size = select(RecordVersion).order_by(func.length(RecordVersion.canonical_json).desc())
        version = db.session.scalar(by_size.where(RecordVersion.canonical_json.contains('"type":"photo"'))) \
            or db.session.scalar(by_size)
        static = Path(app.static_folder)
        roots = [str(static), str(tmp / "instance" / "attachments")]

        def minimal() -> bytes:
            return render_in_worker(MINIMAL, static.as_uri() + "/", roots, "{}", b"0" * 32)

        def record() -> bytes:
            state = pdf.record_state(version)
            return pdf.render_record_pdf(version, state, "Bench (bench)", "https://floorbook.example")

        start = time.perf_counter()
        minimal()  # the first call starts the worker process and imports WeasyPrint
        cold_s = time.perf_counter() - start
        record()  # warm the record's fonts and images in the worker
        html_s = statistics.median(timed(lambda: pdf.record_html(version, pdf.record_state(version), "B", "https://x"), ROUNDS))
        base_s = statistics.median(timed(minimal, ROUNDS))
        record_s = statistics.median(timed(record, ROUNDS))
        data = record()
        pages = len(PdfReader(io.BytesIO(data)).pages)

        inspector = db.session.scalar(select(User).where(User.username == "inspector1"))
        if not version.signatures:  # the demo signs most records itself; the stored-PDF path needs one
            db.session.add(Signature(record_version_id=version.id, content_sha256=version.sha256, signer_id=inspector.id,
                                   printed_name=inspector.printed_name, role="inspector", meaning="Reviewed",
                                   statement="Bench signature.", signed_at=version.created_at + timedelta(hours=1),
                                   auth_method="password"))
        db.session.commit()
        pdf.pdf_for(version, "Bench (bench)", "https://floorbook.example")  # renders and archives once
        stored_s = statistics.median(timed(
            lambda: pdf.pdf_for(version, "Bench (bench)", "https://floorbook.example").read_bytes(), STORED_ROUNDS))
        cold_rate, warm_rate, exported = bulk_export_rates()

    photos = sum(len(i["value"] or []) for i in version.document["items"] if i["type"] == "photo")
    print(f"demo record: {version.document['form']['title']}, {len(version.document['items'])} items, {photos} photo(s), "
          f"{pages} page(s), {len(data) / 1024:.1f} KB")
    print(f"worker start (spawn + import WeasyPrint + first page) {cold_s * 1000:8.1f} ms")
    print(f"minimal 1-page PDF/A-3b via the worker   median {base_s * 1000:8.1f} ms")
    print(f"record PDF (Jinja + worker)               median {record_s * 1000:8.1f} ms  = {record_s / base_s:5.1f}x minimal")
    print(f"  of which the HTML (Jinja, in process)   median {html_s * 1000:8.1f} ms")
    print(f"stored PDF served (lookup + read)         median {stored_s * 1000:8.2f} ms  = "
          f"{record_s / stored_s:5.0f}x faster than rendering")
    print(f"bulk export of {exported} signed records (ZIP + index.csv): first export {cold_rate:6.1f} records/s "
          f"(renders each PDF), again {warm_rate:7.1f} records/s (stored PDFs)")


def bulk_export_rates() -> tuple[float, float, int]:
    """Records per second through the streamed ZIP export, first (rendering) and again (from storage)."""
    from app.services.records import exports, pdf, search

    query = search.RecordQuery(status="signed")

    def export() -> int:
        provider = lambda v: pdf.pdf_for(v, "Bench (bench)", "https://floorbook.example").read_bytes()  # noqa: E731
        return sum(len(chunk) for chunk in exports.zip_stream(search.iter_matching(query), provider))

    count = sum(1 for _ in search.iter_matching(query))
    first, again = timed(export, 1)[0], timed(export, 1)[0]
    return count / first, count / again, count


if __name__ == "__main__":
    main()
