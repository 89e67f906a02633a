"""Records search on 50,000 submitted records: median latency of typical auditor queries (count + one page,
eager loads included) against a baseline `SELECT 1` measured in the same run, on a real migrated SQLite file.

Run: .venv/bin/python bench/search.py [--records N] [--plans]   (or `make bench`)
"""
import argparse
import random
import statistics
import time
import uuid
from datetime import date, datetime, timedelta, timezone

from common import migrated_app, timed
from sqlalchemy import insert, select, text  # noqa: E402

from app.canonical import sha256_hex  # noqa: E402
from app.config import ROOT  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import FormVersion, RecordVersion, Signature, Station, Submission, User  # noqa: E402
from app.services.records import search  # noqa: E402
from app.services.records.search import RecordQuery, iter_matching, search_records  # noqa: E402

ROUNDS = 25
NEWEST = datetime(2026, 11, 20, 18, 0, tzinfo=timezone.utc)
REASONS = ["relief valve re-set by maintenance", "guard interlock switch loose", "oil weep at cylinder fitting",
           "fixture clamp worn, parts sitting high", "wrench out of calibration, swapped for tw-0417"]


def _users() -> tuple[list[User], list[User]]:
    from app.services.core.audit import Actor
    from app.services.access.users import create_user
    operators = [create_user(f"op{n:02d}", f"Operator {n:02d}", ["operator"], None, None, None, Actor(None)) for n in range(20)]
    inspectors = [create_user(f"insp{n}", f"Inspector {n}", ["inspector"], None, None, None, Actor(None)) for n in range(3)]
    return operators, inspectors


def seed(count: int, rng: random.Random) -> None:
    """count submitted records over a year (plus a few drafts), with versions and signatures, by bulk inserts."""
    from app.services.demo import _seed_plant
    from app.services.core.audit import Actor
    from app.services.floor.catalogue import sync_definitions
    _seed_plant()
    sync_definitions(ROOT / "forms", Actor(None))
    operators, inspectors = _users()
    stations = list(db.session.scalars(select(Station)))
    forms = list(db.session.scalars(select(FormVersion)))
    subs, versions, signatures = [], [], []
    version_id = 0
    for n in range(count + count // 100):
        sub_id, form, station, who = str(uuid.uuid4()), rng.choice(forms), rng.choice(stations), rng.choice(operators)
        at = NEWEST - timedelta(seconds=rng.randint(0, 365 * 86400))
        draft = n >= count
        fails = 0 if draft or rng.random() > 0.08 else rng.randint(1, 2)
        words = [form.title, form.form_id, "assembly", station.line.name, station.name, who.printed_name]
        words += rng.sample(REASONS, fails)
        n_versions = 0 if draft else (2 if rng.random() < 0.03 else 1)
        sha = None
        for v in range(1, n_versions + 1):
            version_id += 1
            body = f'{{"record_id":"{sub_id}","version":{v},"form":"{form.form_id}","items":[]}}'
            sha = sha256_hex(body)
            versions.append({"id": version_id, "submission_id": sub_id, "version": v, "canonical_json": body,
                             "sha256": sha, "created_at": at, "created_by_id": who.id})
        signed = n_versions and rng.random() < 0.6
        if signed:
            signer = rng.choice(inspectors)
            signatures.append({"record_version_id": version_id, "content_sha256": sha, "signer_id": signer.id,
                               "printed_name": signer.printed_name, "role": "inspector", "meaning": "Reviewed",
                               "statement": "Reviewed.", "signed_at": at + timedelta(hours=2), "auth_method": "password"})
        subs.append({"id": sub_id, "form_version_id": form.id, "station_id": station.id, "shift_date": at.date(),
                     "shift_code": "A", "started_by_id": who.id, "started_at": at - timedelta(minutes=10),
                     "status": "draft" if draft else ("signed" if signed else "submitted"),
                     "submitted_at": None if draft else at, "submitted_by_id": None if draft else who.id,
                     "current_version": n_versions, "current_sha256": sha, "fail_count": fails,
                     "warn_count": rng.randint(0, 1), "search_text": " ".join(words).lower()})
    for table, rows in ((Submission, subs), (RecordVersion, versions), (Signature, signatures)):
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(table), rows[start:start + 5000])
    db.session.commit()  # no ANALYZE: the app never runs one, so the planner works without statistics here too


def median_ms(call, rounds: int = ROUNDS) -> float:
    """Median wall-clock milliseconds of call, each run on a cold identity map."""
    return statistics.median(timed(call, rounds, before=db.session.expire_all)) * 1000


def queries(station_id: int, sha: str) -> dict[str, RecordQuery]:
    """The typical auditor queries."""
    month = (date(2026, 6, 1), date(2026, 6, 30))
    return {
        "no filter, page 1": RecordQuery(),
        "station + one month": RecordQuery(station=station_id, date_from=month[0], date_to=month[1]),
        "out of spec": RecordQuery(out_of_spec=True),
        "free text 'relief valve'": RecordQuery(q="relief valve"),
        "sha256 prefix (12 hex)": RecordQuery(q=sha[:12]),
        "awaiting signature": RecordQuery(status="submitted"),
        "signer": RecordQuery(signer="insp1"),
        "form + line + out of spec": RecordQuery(form="torque-audit", line=1, out_of_spec=True),
        "deep page 500 (offset 24,950)": RecordQuery(page=500),
        "out of spec, page 60 (near last)": RecordQuery(out_of_spec=True, page=60),
    }


def run(queries_by_name: dict[str, RecordQuery], base: float, plans: bool) -> dict[str, tuple[int, float]]:
    """Matches and median milliseconds of each query; with plans, SQLite's plan of its page-of-ids query."""
    results = {}
    for name, query in queries_by_name.items():
        results[name] = (search_records(query).total, median_ms(lambda q=query: search_records(q)))
        if plans:
            stmt = select(Submission.id).where(*search._conditions(query)).order_by(*search._NEWEST_FIRST).limit(50)
            sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
            print(f"  {name}:", " / ".join(row[-1] for row in db.session.execute(text("EXPLAIN QUERY PLAN " + sql))))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--plans", action="store_true", help="print SQLite's query plan of each page query")
    options = parser.parse_args()
    with migrated_app() as (app, tmp):
        started = time.perf_counter()
        seed(options.records, random.Random(42))
        print(f"seeded {options.records:,} records (+{options.records // 100:,} drafts) in {time.perf_counter() - started:.1f} s")
        station_id = db.session.scalar(select(Station.id).where(Station.name == "Press 1"))
        sha = db.session.scalar(select(RecordVersion.sha256).where(RecordVersion.version == 1).limit(1))
        base = median_ms(lambda: db.session.execute(text("SELECT 1")).scalar(), 200)
        todo = queries(station_id, sha)
        now = run(todo, base, options.plans)
        print(f"baseline SELECT 1: median {base:.3f} ms. Each query: count + page of ids + rows with eager loads.")
        print(f"{'query':34} {'matches':>8} {'median':>12} {'vs baseline':>12}")
        for name, (total, ms) in now.items():
            print(f"{name:34} {total:8,} {ms:9.2f} ms {ms / base:11.0f}x")
        started = time.perf_counter()
        walked = sum(1 for _ in iter_matching(RecordQuery(), batch=500))
        seconds = time.perf_counter() - started
        print(f"keyset walk of every record (batch 500, versions and signatures loaded): {walked:,} in {seconds:.1f} s "
              f"({walked / seconds:,.0f} records/s)")


if __name__ == "__main__":
    main()
