"""Record PDF cost: median render time of a demo record's PDF (HTML here, WeasyPrint in the PDF worker process)
against a same-size reference document (the record's own text, page for page, as plain paragraphs) through the
same worker and PDF/A-3b options in the same run, plus a minimal one-page document and the time to serve a
stored PDF. Goal (exit 1 on a miss): the record ≤ 1.1× the reference. Bulk export: bench/export.py.

Run: .venv/bin/python bench/pdf.py   (or `make bench`)
"""
import html
import io
import statistics
import sys
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
GOAL_RATIO = 1.1


def reference_html(pages: list[str]) -> str:
    """The same size without the record's layout: each page of the record's text as a table of its lines (two
    cells a line, as the record prints label and answer), one table per page, in the same page size."""
    style = ("@page { size: A4; margin: 15mm; } body { font-family: 'DejaVu Sans'; font-size: 7.5pt; } "
             "table { width: 100%; border-collapse: collapse; break-after: page; } "
             "table:last-child { break-after: auto; } "
             "td { border-bottom: 0.5pt solid #999; padding: 0.5pt 2pt; vertical-align: top; }")
    tables = []
    for page in pages:
        rows = []
        for line in filter(str.strip, page.splitlines()):
            head, _, rest = line.partition(" ")
            rows.append(f"<tr><td>{html.escape(head)}</td><td>{html.escape(rest)}</td></tr>")
        tables.append("<table>" + "".join(rows) + "</table>")
    return (f"<!doctype html><html lang='en'><head><title>Reference</title><style>{style}</style></head>"
            f"<body>{''.join(tables)}</body></html>")


def main() -> int:
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
        warm = record()  # warm the record's fonts and images in the worker
        page_texts = [page.extract_text() for page in PdfReader(io.BytesIO(warm)).pages]
        reference_doc = reference_html(page_texts)

        def reference() -> bytes:
            return render_in_worker(reference_doc, static.as_uri() + "/", roots, version.canonical_json, b"1" * 32)

        reference()
        ref_s = statistics.median(timed(reference, ROUNDS))
        ref_pages = len(PdfReader(io.BytesIO(reference())).pages)
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

    photos = sum(len(i["value"] or []) for i in version.document["items"] if i["type"] == "photo")
    print(f"demo record: {version.document['form']['title']}, {len(version.document['items'])} items, {photos} photo(s), "
          f"{pages} page(s), {len(data) / 1024:.1f} KB")
    print(f"worker start (spawn + import WeasyPrint + first page) {cold_s * 1000:8.1f} ms")
    print(f"minimal 1-page PDF/A-3b via the worker   median {base_s * 1000:8.1f} ms")
    print(f"same-size reference ({ref_pages} page(s) of text tables)  median {ref_s * 1000:8.1f} ms")
    print(f"record PDF (Jinja + worker)               median {record_s * 1000:8.1f} ms  = "
          f"{record_s / base_s:5.1f}x minimal, {record_s / ref_s:.2f}x the reference (goal ≤ {GOAL_RATIO}x)")
    print(f"  of which the HTML (Jinja, in process)   median {html_s * 1000:8.1f} ms")
    print(f"stored PDF served (lookup + read)         median {stored_s * 1000:8.2f} ms  = "
          f"{record_s / stored_s:5.0f}x faster than rendering")
    if record_s / ref_s > GOAL_RATIO:
        print(f"MISSED: the record PDF takes {record_s / ref_s:.2f}x the same-size reference (goal ≤ {GOAL_RATIO}x)")
        return 1
    print("goal met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
