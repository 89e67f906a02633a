"""Bulk export at scale: the streamed ZIP of 10,000 signed records whose PDFs are stored, through the real
view (`/records/export.zip`, progress counted in export_run), against reading the same stored files raw in
the same run, and the peak memory it takes at 1,000 and at 10,000 records.

Goals (exit 1 on a miss): ≥ 200 records/s at 10,000 records; memory flat in the number of records: the peak
RSS growth of the 10,000 export at most that of the 1,000 export plus 1 KB a record more (zipfile keeps its
central directory, ~0.2 KB a member, until the end; a PDF is ~40 KB, so anything that held the PDFs or the
rows would show at once).

Seeding: a one-day demo plant; one signed record's PDF rendered for real (and one more, so the copies come
from two documents), then 10,000 copies of that record inserted in bulk on a bench line (1,000 at one station,
9,000 at another), each with a stored PDF of distinct bytes (a rendered one plus a comment naming the copy)
recorded for its current state as the worker records it.

Run: .venv/bin/python bench/export.py [--records 10000]   (about a minute and a half on 2 cores)
"""
import argparse
import collections
import copy
import resource
import sys
import time
import uuid
from pathlib import Path

from common import migrated_app
from sqlalchemy import func, insert, select

from app.config import ROOT

GOAL_RATE = 200.0
SMALL = 1000
FLAT_BYTES_PER_RECORD = 1024


def rss_kb(field: str) -> int:
    """VmRSS or VmHWM of this process, in KB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak() -> None:
    """Give freed heap back to the system and reset VmHWM to the current RSS (Linux ≥ 4.0), so the next peak
    is this run's own (without the trim an export would reuse what seeding left resident, and show nothing)."""
    import ctypes
    import gc

    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")


def seed(db, count: int) -> tuple[int, int, int]:
    """count signed copies with stored PDFs on a new bench line; (line id, small station id, rendered bytes)."""
    from app.models import Line, RecordVersion, RenderedPdf, Signature, Station, Submission
    from app.services.records import pdf, search
    from app.canonical import canonical_json, sha256_hex

    signed = list(db.session.scalars(select(RecordVersion).join(Signature).order_by(RecordVersion.id).limit(2)))
    templates = [pdf.pdf_for(v, "Bench (bench)", "https://floorbook.example").read_bytes() for v in signed]
    source = signed[0]
    submission, signature = source.submission, source.signatures[0]
    line = Line(area_id=submission.station.line.area_id, name="Bench line")
    small, large = Station(line=line, name="Bench A"), Station(line=line, name="Bench B")
    db.session.add_all([line, small, large])
    db.session.flush()
    columns = {c.key: getattr(submission, c.key) for c in Submission.__table__.columns}
    first_id = db.session.scalar(select(func.max(RecordVersion.id))) + 1
    for start in range(0, count, 2000):
        subs, versions, signatures = [], [], []
        for n in range(start, min(start + 2000, count)):
            new_id = str(uuid.UUID(int=(1 << 100) + n))
            body = canonical_json(copy.deepcopy(source.document) | {"record_id": new_id})
            version = {"id": first_id + n, "submission_id": new_id, "version": 1, "canonical_json": body,
                       "sha256": sha256_hex(body), "created_at": source.created_at,
                       "created_by_id": source.created_by_id}
            subs.append(columns | {"id": new_id, "station_id": (small if n < SMALL else large).id,
                                   "current_sha256": version["sha256"]})
            versions.append(version)
            signatures.append({c.key: getattr(signature, c.key) for c in Signature.__table__.columns if c.key != "id"}
                              | {"record_version_id": version["id"], "content_sha256": version["sha256"]})
        db.session.execute(insert(Submission), subs)
        db.session.execute(insert(RecordVersion), versions)
        db.session.execute(insert(Signature), signatures)
    db.session.commit()
    rows = []
    for batch in _batches(search.iter_matching(search.RecordQuery(line=line.id))):
        current = [search.current_version(s) for s in batch]
        for version_id, key in pdf.state_keys(current).items():
            data = templates[version_id % 2] + f"\n% bench copy {version_id}\n".encode()
            rows.append({"record_version_id": version_id, "state_key": key, "pdf_sha256": pdf.write_stored(data),
                         "size": len(data)})
        db.session.execute(insert(RenderedPdf), rows)
        rows = []
    db.session.commit()
    return line.id, small.id, sum(map(len, templates)) // len(templates)


def _batches(items, size: int = 500):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def export(client, args: str) -> tuple[int, float, int, int]:
    """(bytes, seconds, peak RSS growth in KB, ZIP members) of one streamed export through the view."""
    import io
    import zipfile

    reset_peak()
    before = rss_kb("VmRSS")
    start = time.perf_counter()
    run_id = str(uuid.uuid4())
    response = client.get(f"/records/export.zip?{args}&export={run_id}", buffered=False)
    assert response.status_code == 200, response.status_code
    size, tail = 0, collections.deque(maxlen=64)  # the last chunks: the central directory, to count members
    for chunk in response.iter_encoded():
        size += len(chunk)
        tail.append(chunk)
    response.close()  # the stream's last count is written as it closes
    seconds = time.perf_counter() - start
    growth = rss_kb("VmHWM") - before
    end = b"".join(tail)
    members = len(zipfile.ZipFile(io.BytesIO(end[end.rfind(b"PK\x05\x06") - _directory_size(end):])).namelist())
    return size, seconds, growth, members


def _directory_size(end: bytes) -> int:
    """The central directory's size, from the end-of-central-directory record at the archive's end."""
    record = end[end.rfind(b"PK\x05\x06"):]
    return int.from_bytes(record[12:16], "little")


def raw_read(db, line_id: int) -> tuple[int, float]:
    """(records, seconds) reading every stored PDF of the bench line straight from storage, no ZIP, no view."""
    from app.models import RecordVersion, RenderedPdf, Submission
    from app.services.records import pdf

    shas = list(db.session.scalars(select(RenderedPdf.pdf_sha256).join(RecordVersion).join(Submission)
                                   .where(Submission.station_id.in_(_stations(db, line_id)))))
    start = time.perf_counter()
    for sha in shas:
        pdf.read_stored(sha)
    return len(shas), time.perf_counter() - start


def _stations(db, line_id: int) -> list[int]:
    from app.models import Station
    return list(db.session.scalars(select(Station.id).where(Station.line_id == line_id)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    count = parser.parse_args().records
    with migrated_app() as (app, tmp):
        from app.extensions import db
        from app.models import ExportRun, User
        from app.services.demo import seed_demo
        from tests.helpers.builders import Client, sign_in

        seed_demo(ROOT / "forms", tmp / "instance", days=1)
        started = time.perf_counter()
        line_id, small_id, pdf_size = seed(db, count)
        seeded_s = time.perf_counter() - started
        auditor = db.session.scalar(select(User).where(User.username == "auditor1"))
        app.test_client_class = Client
        client = sign_in(app.test_client(), auditor)
        db.session.remove()
        raw_n, raw_s = raw_read(db, line_id)
        db.session.remove()
        small_bytes, small_s, small_growth, _ = export(client, f"station={small_id}")
        large_bytes, large_s, large_growth, _ = export(client, f"line={line_id}")
        db.session.remove()  # the test client's requests ran in this app context: a fresh session sees their commits
        runs = list(db.session.scalars(select(ExportRun).order_by(ExportRun.started_at)))
    load = Path("/proc/loadavg").read_text().split()[:3]
    rate, raw_rate = count / large_s, raw_n / raw_s
    allowed = small_growth + (count - SMALL) * FLAT_BYTES_PER_RECORD // 1024
    print(f"seeded {count:,} signed records with stored PDFs (~{pdf_size / 1024:.0f} KB each) in {seeded_s:.1f} s; "
          f"load average {' '.join(load)}; peak RSS of the process "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"baseline: stored files read raw          {raw_rate:9.0f} records/s ({raw_n:,} in {raw_s:.2f} s)")
    print(f"export ZIP of {SMALL:,} records               {SMALL / small_s:9.0f} records/s "
          f"({small_bytes / 1e6:.0f} MB in "
          f"{small_s:.2f} s), peak RSS growth {small_growth / 1024:6.1f} MB")
    print(f"export ZIP of {count:,} records              {rate:9.0f} records/s ({large_bytes / 1e6:.0f} MB in "
          f"{large_s:.2f} s), peak RSS growth {large_growth / 1024:6.1f} MB")
    print(f"  = {rate / GOAL_RATE:.2f}x the goal of {GOAL_RATE:.0f} records/s, {rate / raw_rate:.2f}x the raw read")
    print(f"  memory: growth at {count:,} {large_growth / 1024:.1f} MB vs at {SMALL:,} {small_growth / 1024:.1f} MB "
          f"(allowed {allowed / 1024:.1f} MB)")
    print("  progress rows: " + "; ".join(f"{r.done:,} of {r.total:,}, {r.rendered} rendered" for r in runs))
    missed = []
    if rate < GOAL_RATE:
        missed.append(f"rate {rate:.0f} < {GOAL_RATE:.0f} records/s")
    if large_growth > allowed:
        missed.append(f"memory not flat: {large_growth} KB > {allowed} KB")
    if any(r.done != r.total or r.finished_at is None for r in runs):
        missed.append("an export's progress row did not reach its total")
    if missed:
        print("MISSED: " + "; ".join(missed))
        return 1
    print("goals met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
