"""The text index (search_document + FTS5 / tsvector): kept current by submit, correction and every deviation step,
prefix and multi-word queries, hostile input, and the indexes each search filter is answered from."""
import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from app.models import Deviation, SearchDocument, Submission
from app.services.core import text_index
from app.services.core.audit import Actor
from app.services.quality import deviations
from app.services.quality.deviation_search import DeviationQuery
from app.services.records import search, versions
from app.services.records.search import RecordQuery, current_version, search_records
from tests.test_search import T0, submit_record

PUNCTUATION = ['"', "'", "(", ")", "*", ":", ":*", "\\", "&", "|", "!", "-", "^", "{", "}", "+", "<->", "%", "_", '""',
               "''", "(*", "):"]
OPERATOR_WORDS = ["relief AND valve", "relief OR valve", "NOT relief", "relief NOT valve", "NEAR(relief valve)",
                  "relief NEAR valve", "words:relief", "{words}: relief", "relief & !valve", "relief | valve"]


def record_ids(**filters) -> list[str]:
    return [s.id for s in search_records(RecordQuery(**filters)).items]


def deviation_ids(**filters) -> list[int]:
    return [d.id for d in deviations.search(DeviationQuery(**filters)).items]


def test_words_are_normalised_alike_for_documents_and_queries():
    """Case, accents and punctuation fold away; underscores and hyphens separate words."""
    assert text_index.words("Relief VALVE, re-set (tw_0417) Prüfung «Café» N·m") == [
        "relief", "valve", "re", "set", "tw", "0417", "prufung", "cafe", "n", "m"]


def test_a_submitted_record_is_found_by_its_words_with_prefix_and_any_order(plant, users, start_draft):
    """Every word must be present (any order); the last word also matches as a prefix, earlier ones do not."""
    plain = submit_record(start_draft, users.operator, at=T0)
    explained = submit_record(start_draft, users.operator, at=T0 + timedelta(minutes=1), fail="calibration_in_date")
    assert record_ids(q="relief valve") == [explained.id]
    assert record_ids(q="relief val") == [explained.id]  # typing the last word
    assert record_ids(q="VALVE relief") == [explained.id]
    assert record_ids(q="drifted warm") == [explained.id]
    assert record_ids(q="rel valve") == []  # only the last word is a prefix
    assert record_ids(q="relief pump") == []  # every word must be there
    assert record_ids(q="elief") == []  # words, not substrings
    assert record_ids(q="weld") == [explained.id, plain.id]
    assert record_ids(q="re-set by maintenance") == [explained.id]


def test_a_correction_replaces_the_words_and_the_superseded_text_is_not_found(plant, users, start_draft, db):
    """The index holds the current version's words only: a correction's new words are found, the old ones not."""
    record = submit_record(start_draft, users.operator, at=T0, fail="calibration_in_date")
    document = current_version(record).record
    items = tuple(dataclasses.replace(i, reason="Gauge hose kinked behind the guard") if i.reason else i
                  for i in document.items)
    versions.add_version(record, dataclasses.replace(document, version=2, items=items), Actor(users.supervisor.id),
                         reason="Reason written down wrongly")
    db.session.commit()
    assert record_ids(q="hose kinked") == [record.id]
    assert record_ids(q="relief valve") == [] and record_ids(q="drifted") == []
    rows = db.session.scalars(select(SearchDocument).where(SearchDocument.ref == record.id)).all()
    assert len(rows) == 1 and "kinked" in rows[0].words and "drifted" not in rows[0].words


def test_drafts_are_not_in_the_index(plant, users, start_draft, db):
    """Only a submit puts a record in the index."""
    draft = start_draft(users.operator, "torque-audit", "Weld 1")
    assert db.session.scalar(select(func.count()).select_from(SearchDocument).where(
        SearchDocument.ref == draft.id)) == 0


def test_every_deviation_step_keeps_its_words_current(plant, users, db):
    """Raised, cause, decision, resolution: each step's words are found at once; a replaced cause is not."""
    supervisor = Actor(users.supervisor.id)
    deviation = deviations.raise_manual(plant.stations["Press 1"], "Oil mist at the press", None,
                                        "seal worn", None, Actor(users.operator.id))
    assert deviation_ids(q="oil mist") == [deviation.id] and deviation_ids(q="seal") == [deviation.id]
    deviations.record_cause(deviation, "Machine / equipment", "Hydraulic hose chafed on the frame", "Press stopped",
                            supervisor)
    assert deviation_ids(q="hose chafed") == [deviation.id] and deviation_ids(q="press stop") == [deviation.id]
    assert deviation_ids(q="seal worn") == []  # the cause it replaced
    deviations.acknowledge(deviation, supervisor)
    deviations.decide(deviation, "Swap press; re-route hose", "Customer order due today", "adjust",
                      users.supervisor, "Keep the old hose for the vendor", supervisor)
    assert deviation_ids(q="re-route") == [deviation.id] and deviation_ids(q="customer order") == [deviation.id]
    assert deviation_ids(q="vendor") == [deviation.id]
    deviations.resolve(deviation, "Hose replaced with armoured hose, 20 parts re-inspected", supervisor)
    assert deviation_ids(q="armoured") == [deviation.id]
    assert deviation_ids(q="armoured", status="resolved") == [deviation.id]
    assert deviation_ids(q="armoured", status="open") == []


def test_a_failing_answer_raises_a_deviation_found_by_what_happened_and_its_reason(plant, users, start_draft):
    """The deviation an answer raises is found by its generated statement and by the operator's reason."""
    record = submit_record(start_draft, users.operator, at=T0, fail="calibration_in_date")
    raised = deviations.for_submission(record.id)
    assert raised and deviation_ids(q="relief valve") == [d.id for d in raised]
    assert deviation_ids(q=raised[0].station.name) == [d.id for d in raised]


def test_a_number_finds_the_deviation_and_words_holding_it(plant, users):
    """'#n' is only the deviation's number; a bare number is the number or a word."""
    operator = Actor(users.operator.id)
    first = deviations.raise_manual(plant.stations["Press 1"], "Line stopped", None, None, None, operator)
    second = deviations.raise_manual(plant.stations["Press 1"], f"Gauge {first.id} cracked", None, None, None,
                                     operator)
    assert deviation_ids(q=f"#{first.id}") == [first.id]
    assert sorted(deviation_ids(q=str(first.id))) == sorted({first.id, second.id})


@pytest.fixture
def relief(plant, users, start_draft):
    """A record and a deviation holding the words "relief valve"."""
    record = submit_record(start_draft, users.operator, at=T0, fail="calibration_in_date")
    manual = deviations.raise_manual(plant.stations["Weld 1"], "Relief valve weeping", None, None, None,
                                     Actor(users.operator.id))
    raised = [d.id for d in deviations.for_submission(record.id)]  # the failing answer's, its reason the cause
    return record.id, sorted([manual.id, *raised], reverse=True)


@pytest.mark.parametrize("mark", PUNCTUATION)
def test_punctuation_and_syntax_characters_only_separate_words(relief, mark):
    """Quotes, parentheses, '*', ':', '&', '|', '!', '-', '^', braces: never FTS syntax, never an error."""
    record_id, deviation_ids_ = relief
    q = f"{mark}relief{mark} {mark}valve{mark}"
    assert record_ids(q=q) == [record_id] and deviation_ids(q=q) == deviation_ids_
    assert record_ids(q=mark) == [] and deviation_ids(q=mark) == []


@pytest.mark.parametrize("q", OPERATOR_WORDS)
def test_operator_words_are_plain_words(relief, q):
    """AND, OR, NOT, NEAR and column filters are words to find, not operators: no error, no widened match."""
    record_id, deviation_ids_ = relief
    assert set(record_ids(q=q)) <= {record_id} and set(deviation_ids(q=q)) <= set(deviation_ids_)
    assert record_ids(q=q + " pump") == [] and deviation_ids(q=q + " pump") == []


@pytest.mark.parametrize("hostile", ['"relief', "NEAR(relief valve)", "a & b | !c", "relief:*", "(", "*"])
def test_hostile_input_over_http_answers_200(login, users, plant, hostile):
    """The pages answer 200 with results for any input."""
    client = login(users.auditor)
    for path, results in (("/records", 'id="results"'), ("/deviations", 'id="deviation-results"')):
        response = client.get(path, query_string={"q": hostile}, headers={"HX-Request": "true"})
        assert response.status_code == 200 and results in response.get_data(as_text=True)


def _plan(db, statement, dialect: str) -> str:
    sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
    if dialect == "postgresql":
        db.session.execute(text("SET LOCAL enable_seqscan = off"))  # small tables: ask whether an index can answer
        return "\n".join(row[0] for row in db.session.execute(text("EXPLAIN " + sql)))
    return "\n".join(row[-1] for row in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)))


@pytest.mark.parametrize("kind", ["record", "deviation"])
def test_words_are_matched_through_the_engines_text_index(db, dialect, kind):
    """The words' candidates come from FTS5 (SQLite) or the GIN index on the tsvector (PostgreSQL)."""
    plan = _plan(db, text_index.matching_refs(kind, "relief val"), dialect)
    assert {"sqlite": "search_document_fts VIRTUAL TABLE", "postgresql": "ix_search_document_tsv"}[dialect] in plan
    assert "Seq Scan" not in plan, plan


@pytest.mark.parametrize("filters,index", [
    ({"q": "3f2a9c1e7b"}, {"sqlite": "ix_record_version_sha256", "postgresql": "ix_record_version_sha256"}),
    ({"q": "3f2a9c1e7b"}, {"sqlite": "sqlite_autoindex_submission_1", "postgresql": "pk_submission"}),
    ({"signer": "t-inspector"}, {"sqlite": "sqlite_autoindex_record_signer_1", "postgresql": "pk_record_signer"}),
    ({"out_of_spec": True}, {"sqlite": "ix_submission_out_of_spec", "postgresql": "ix_submission_out_of_spec"}),
    ({"station": 1}, {"sqlite": "ix_submission_station_id_submitted_at",
                      "postgresql": "ix_submission_station_id_submitted_at"}),
    ({"status": "submitted"}, {"sqlite": "ix_submission_status_submitted_at",
                               "postgresql": "ix_submission_status_submitted_at"}),
])
def test_record_filters_are_answered_from_an_index(db, dialect, users, filters, index):
    """EXPLAIN of the page query names the index each filter needs, on both engines (no full scan)."""
    where = search._conditions(RecordQuery(**filters))
    plan = _plan(db, select(Submission.id).where(*where).order_by(*search._NEWEST_FIRST).limit(50), dialect)
    assert index[dialect] in plan and "Seq Scan on submission" not in plan, plan


@pytest.mark.parametrize("filters,index", [
    ({"decision": "scrap"}, {"sqlite": "ix_deviation_decision_raised_at",
                             "postgresql": "ix_deviation_decision_raised_at"}),
    ({"station": 1}, {"sqlite": "ix_deviation_station_id_raised_at",
                      "postgresql": "ix_deviation_station_id_raised_at"}),
    ({}, {"sqlite": "ix_deviation_raised_at_id", "postgresql": None}),
])
def test_deviation_filters_are_answered_from_an_index(db, dialect, filters, index):
    """EXPLAIN of the deviations page query names the index each filter needs (on PostgreSQL without a filter:
    any index, no full scan; its choice among them on empty tables means nothing)."""
    from app.services.quality import deviation_search
    where = deviation_search._conditions(DeviationQuery(**filters))
    plan = _plan(db, select(Deviation.id).where(*where).order_by(Deviation.raised_at.desc(), Deviation.id.desc())
                 .limit(50), dialect)
    assert (index[dialect] or "Index") in plan and "Seq Scan on deviation" not in plan, plan


def test_the_migration_indexes_the_history_of_an_upgraded_plant(app, plant, users, start_draft, db):
    """A database at the revision before the index, holding records and deviations, finds them after upgrade."""
    from flask_migrate import downgrade, upgrade

    from app.config import ROOT
    record = submit_record(start_draft, users.operator, at=T0, fail="calibration_in_date")
    deviation = deviations.raise_manual(plant.stations["Press 1"], "Coil edge cracked", "Material", "Supplier lot",
                                        None, Actor(users.operator.id))
    record_id, deviation_id = record.id, deviation.id
    db.session.remove()
    downgrade(directory=str(ROOT / "migrations"), revision="753020d2ed67")
    # A record the old schema indexed only through its search_text column (as every record before the upgrade).
    with db.engine.begin() as connection:
        old_words = connection.execute(text("SELECT search_text FROM submission WHERE id = :id"), {"id": record_id})
        assert old_words.scalar().endswith("relief valve drifted after warm up re set by maintenance")
        connection.execute(text("UPDATE submission SET search_text = 'torque audit weld 1 Überdruck ventil' "
                                "WHERE id = :id"), {"id": record_id})
    upgrade(directory=str(ROOT / "migrations"))
    db.session.remove()
    assert record_ids(q="uberdruck vent") == [record_id]
    assert deviation_ids(q="supplier lot") == [deviation_id] and deviation_ids(q="coil edge") == [deviation_id]
    assert record_ids(signer="t-inspector") == []
