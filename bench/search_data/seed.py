"""A year of plant history for the search bench, by bulk inserts: records (with versions, signatures and their
search documents) and deviations (with theirs), on a migrated database of either engine."""
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select, text

from app.canonical import sha256_hex
from app.config import ROOT
from app.extensions import db
from app.models import Deviation, FormVersion, RecordVersion, SearchDocument, Signature, Station, Submission, User
from app.services.core.text_index import words

NEWEST = datetime(2026, 11, 20, 18, 0, tzinfo=timezone.utc)
YEAR = 365 * 86400
REASONS = ["relief valve re-set by maintenance", "guard interlock switch loose", "oil weep at cylinder fitting",
           "fixture clamp worn, parts sitting high", "wrench out of calibration, swapped for tw-0417",
           "coil edge cracked, three parts set aside", "hydraulic pressure drifted after warm-up",
           "torque gun battery low, re-torqued by hand", "spatter on the weld fixture", "label printer misfeed"]
CATEGORIES = ["Material", "Machine", "Method", "Man", "Measurement", "Environment"]
DECISIONS = ["continue", "adjust", "hold", "quarantine", "stop_line", "rework", "scrap"]
CHUNK = 5000


@dataclass(frozen=True)
class Seeded:
    """What the queries need to name: a station, a line, a sha256 and a record id, a deviation number."""

    station_id: int
    line_id: int
    sha256: str
    record_id: str
    deviation_id: int


def _users() -> tuple[list[User], list[User]]:
    from app.services.access.users import create_user
    from app.services.core.audit import Actor
    operators = [create_user(f"op{n:02d}", f"Operator {n:02d}", ["operator"], None, None, None, Actor(None))
                 for n in range(20)]
    inspectors = [create_user(f"insp{n}", f"Inspector {n}", ["inspector"], None, None, None, Actor(None))
                  for n in range(3)]
    create_user("auditor", "Audrey Auditor", ["auditor"], None, None, None, Actor(None))
    return operators, inspectors


def _bulk(model, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(model), rows[start:start + CHUNK])


def _records(count: int, rng: random.Random, operators, inspectors, stations, forms) -> list[tuple]:
    """count submitted records (plus 1 % drafts); returns (id, station, at, fail reasons) of the failing ones."""
    subs, versions, signatures, documents, failing = [], [], [], [], []
    version_id = 0
    for n in range(count + count // 100):
        sub_id, form, station, who = str(uuid.uuid4()), rng.choice(forms), rng.choice(stations), rng.choice(operators)
        at = NEWEST - timedelta(seconds=rng.randint(0, YEAR))
        draft = n >= count
        fails = 0 if draft or rng.random() > 0.08 else rng.randint(1, 2)
        reasons = rng.sample(REASONS, fails)
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
                               "statement": "Reviewed.", "signed_at": at + timedelta(hours=2),
                               "auth_method": "password"})
        subs.append({"id": sub_id, "form_version_id": form.id, "station_id": station.id, "shift_date": at.date(),
                     "shift_code": "A", "started_by_id": who.id, "started_at": at - timedelta(minutes=10),
                     "status": "draft" if draft else ("signed" if signed else "submitted"),
                     "submitted_at": None if draft else at, "submitted_by_id": None if draft else who.id,
                     "current_version": n_versions, "current_sha256": sha, "fail_count": fails,
                     "warn_count": rng.randint(0, 1)})
        if not draft:
            text_ = [form.title, form.form_id, "assembly", station.line.name, station.name, who.printed_name, *reasons]
            documents.append({"kind": "record", "ref": sub_id, "words": " ".join(words(" ".join(text_))),
                              "updated_at": at})
            if fails:
                failing.append((sub_id, station, at, who, reasons))
    _bulk(Submission, subs)
    _bulk(RecordVersion, versions)
    _bulk(Signature, signatures)
    _bulk(SearchDocument, documents)
    return failing


def _deviations(count: int, rng: random.Random, failing: list[tuple], stations, people) -> None:
    """count deviations: one per failing record first, the rest raised by hand; all but the newest ~2 % closed."""
    rows, documents = [], []
    for n in range(count):
        if n < len(failing):
            sub_id, station, at, who, reasons = failing[n]
            source, reason = "answer", reasons[0]
        else:
            sub_id, station, who = None, rng.choice(stations), rng.choice(people)
            at, source, reason = NEWEST - timedelta(seconds=rng.randint(0, YEAR)), "manual", rng.choice(REASONS)
        age = (NEWEST - at).total_seconds() / YEAR
        status = "closed" if age > 0.02 else rng.choice(["open", "acknowledged", "resolved"])
        decided = status in ("resolved", "closed")
        row = {"id": n + 1, "station_id": station.id, "submission_id": sub_id,
               "item_name": "torque" if sub_id else None,
               "source": source, "status": status, "raised_by_id": who.id, "raised_at": at,
               "what_happened": f"Torque {rng.uniform(30, 44):.1f} N·m, spec 45–55 N·m, {station.name}, "
                                f"{who.printed_name}",
               "cause_category": rng.choice(CATEGORIES), "cause": reason,
               "immediate_action": rng.choice(["parts set aside", "re-checked", "line stopped, supervisor called"]),
               "decision": rng.choice(DECISIONS) if decided else None,
               "options_considered": "re-set; swap press" if decided else None,
               "decided_by_id": people[0].id if decided else None,
               "decided_at": at + timedelta(hours=1) if decided else None,
               "resolution": f"fixed: {rng.choice(REASONS)}" if decided else None,
               "closed_at": at + timedelta(hours=3) if status == "closed" else None}
        rows.append(row)
        searched = [row[name] or "" for name in ("what_happened", "cause_category", "cause", "immediate_action",
                                                  "options_considered", "resolution")]
        documents.append({"kind": "deviation", "ref": str(n + 1), "words": " ".join(words(" ".join(searched))),
                          "updated_at": at})
    _bulk(Deviation, rows)
    _bulk(SearchDocument, documents)


def seed(records: int, deviations: int, rng: random.Random) -> Seeded:
    """The plant, its forms and people, then records and deviations; PostgreSQL's statistics as autovacuum keeps
    them (a plant's tables are analysed after this many inserts); SQLite without any (the app runs no ANALYZE)."""
    from app.services.core.audit import Actor
    from app.services.demo import _seed_plant
    from app.services.floor.catalogue import sync_definitions
    _seed_plant()
    sync_definitions(ROOT / "forms", Actor(None))
    operators, inspectors = _users()
    stations = list(db.session.scalars(select(Station)))
    forms = list(db.session.scalars(select(FormVersion)))
    failing = _records(records, rng, operators, inspectors, stations, forms)
    _deviations(deviations, rng, failing, stations, operators + inspectors)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT setval('deviation_id_seq', (SELECT max(id) FROM deviation))"))
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    press = next(s for s in stations if s.name == "Press 1")
    sha = db.session.scalar(select(RecordVersion.sha256).where(RecordVersion.version == 1).limit(1))
    record_id = db.session.scalar(select(Submission.id).where(Submission.submitted_at.is_not(None)).limit(1))
    return Seeded(press.id, press.line_id, sha, record_id, deviations // 2)
