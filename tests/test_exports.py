"""Bulk exports: the answers CSV and the streamed ZIP of PDFs with its index."""
import csv
import hashlib
import io
import zipfile
from datetime import timedelta

import pytest

from app.models import RecordVersion
from app.services.records.exports import ANSWER_COLUMNS, INDEX_COLUMNS, answers_csv, cell, zip_stream
from app.services.records.search import RecordQuery, iter_matching
from tests.test_search import PRESS, T0, TORQUE, correct, submit_record, sign


def fake_pdf(version: RecordVersion) -> bytes:
    """Small PDF-looking bytes, different for each record version."""
    return (b"%PDF-1.7\n% " + f"{version.submission_id} v{version.version}".encode() + b"\n" + b"x" * 2000
            + b"\n%%EOF\n")


def read_csv(text: str) -> list[dict]:
    """Rows of CSV text as dicts."""
    return list(csv.DictReader(io.StringIO(text)))


def test_answers_csv_has_one_row_per_visible_item(plant, users, start_draft):
    """Header first, then every visible item of the record with value, unit, limits, verdict and explanation."""
    record = submit_record(start_draft, users.operator, TORQUE, "Weld 1", fail="calibration_in_date")
    chunks = list(answers_csv([record]))
    assert chunks[0].splitlines()[0] == ",".join(ANSWER_COLUMNS)
    rows = read_csv("".join(chunks))
    doc = record.versions[-1].document
    shown = [i["item"] for i in doc["items"] if i["visible"] and i["type"] != "instruction"]
    assert [r["item"] for r in rows] == shown and "how_to_measure" not in shown
    assert {r["record_id"] for r in rows} == {record.id}
    assert {r["record_sha256"] for r in rows} == {record.current_sha256}
    torque = next(r for r in rows if r["item"] == "bracket_bolt_torque")
    assert (torque["unit"], torque["nominal"], torque["lsl"], torque["usl"], torque["warn_low"], torque["warn_high"]) == \
        ("N·m", "50", "45", "55", "46.5", "53.5")
    assert torque["value"].count("; ") == 4 and torque["verdict"] == "ok" and torque["type"] == "number"
    failed = next(r for r in rows if r["item"] == "calibration_in_date")
    assert (failed["verdict"], failed["reason"], failed["action"]) == ("fail", "Relief VALVE drifted after warm-up",
                                                                      "Re-set by maintenance")
    assert failed["lsl"] == "" and failed["value"] == "fail"
    head = rows[0]
    assert (head["form_id"], head["form_version"], head["line"], head["station"], head["version"]) == \
        (TORQUE, "1", "Line 1", "Weld 1", "1")
    assert head["submitted_at_utc"] == T0.isoformat() and head["performer"] == users.operator.printed_name


def test_answers_csv_uses_the_current_version(plant, users, start_draft, db):
    """After a correction the rows carry version 2 and its hash."""
    record = submit_record(start_draft, users.operator, PRESS, "Press 1")
    correct(db, record, users.supervisor)
    rows = read_csv("".join(answers_csv([record])))
    assert {(r["version"], r["record_sha256"]) for r in rows} == {("2", record.current_sha256)}


def test_answers_csv_defuses_spreadsheet_formulas(plant, users, start_draft):
    """Typed text that starts like a formula is quoted; negative numbers are left alone."""
    record = submit_record(start_draft, users.operator, fail="calibration_in_date", reason='=HYPERLINK("http://x")')
    failed = next(r for r in read_csv("".join(answers_csv([record]))) if r["item"] == "calibration_in_date")
    assert failed["reason"] == "'=HYPERLINK(\"http://x\")"
    assert (cell(-4.5), cell("-4.5"), cell("@SUM(A1)"), cell([1.5, None, 2])) == ("-4.5", "-4.5", "'@SUM(A1)", "1.5; ; 2")


def test_answers_csv_streams_from_the_keyset_walk(plant, users, start_draft):
    """A header chunk, then a chunk per record, for every match of the query."""
    made = [submit_record(start_draft, users.operator, at=T0 + timedelta(minutes=n)) for n in range(5)]
    chunks = list(answers_csv(iter_matching(RecordQuery(), batch=2)))
    assert len(chunks) == 6
    assert [r["record_id"] for r in read_csv("".join(chunks)) if r["item"] == "wrench_id"] == [s.id for s in made[::-1]]


@pytest.fixture
def signed_records(plant, users, start_draft, db):
    """Three press records at Press 1 (one signed, one corrected) and one torque audit."""
    made = [submit_record(start_draft, users.operator, PRESS, "Press 1", T0 + timedelta(minutes=n)) for n in range(3)]
    made.append(submit_record(start_draft, users.operator, TORQUE, "Weld 1", T0 + timedelta(minutes=3)))
    sign(db, made[0], users.inspector)
    correct(db, made[1], users.supervisor)
    return made


def test_zip_holds_each_current_pdf_and_an_index(signed_records, users):
    """N stored PDFs named <id>-v<n>.pdf and index.csv with N rows whose pdf_sha256 matches each member."""
    calls: list[tuple[str, int]] = []

    def provider(version: RecordVersion) -> bytes:
        calls.append((version.submission_id, version.version))
        return fake_pdf(version)
    data = b"".join(zip_stream(iter_matching(RecordQuery(), batch=2), provider))
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    names = archive.namelist()
    assert names[-1] == "index.csv" and len(names) == 5
    index = read_csv(archive.read("index.csv").decode("utf-8"))
    assert list(index[0]) == list(INDEX_COLUMNS) and len(index) == 4
    for row in index:
        member = archive.getinfo(row["pdf_file"])
        assert member.compress_type == zipfile.ZIP_STORED
        assert hashlib.sha256(archive.read(member)).hexdigest() == row["pdf_sha256"]
        assert row["pdf_file"] == f"{row['record_id']}-v{row['version']}.pdf"
    by_id = {row["record_id"]: row for row in index}
    first, corrected, _, torque = signed_records
    assert by_id[corrected.id]["version"] == "2" and by_id[corrected.id]["sha256"] == corrected.current_sha256
    assert by_id[first.id]["status"] == "signed" and users.inspector.printed_name in by_id[first.id]["signatures"]
    assert "(inspector, Reviewed, " in by_id[first.id]["signatures"] and by_id[corrected.id]["signatures"] == ""
    assert by_id[torque.id]["form"] == "torque-audit v1" and by_id[torque.id]["station"] == "Line 1 · Weld 1"
    assert sorted(calls) == sorted((s.id, s.current_version) for s in signed_records)
    assert archive.getinfo("index.csv").compress_type == zipfile.ZIP_DEFLATED


def test_zip_streams_member_by_member(signed_records):
    """The first bytes leave before the second PDF is asked for: nothing buffers the whole archive."""
    rendered: list[str] = []

    def provider(version: RecordVersion) -> bytes:
        rendered.append(version.submission_id)
        return fake_pdf(version)
    stream = zip_stream(iter_matching(RecordQuery(), batch=2), provider)
    first = next(stream)
    assert first.startswith(b"PK\x03\x04") and len(rendered) == 1 and len(first) < 2 * len(fake_pdf(signed_records[0].versions[0]))
    rest = list(stream)
    assert len(rendered) == 4 and len(rest) >= 4
    assert len(zipfile.ZipFile(io.BytesIO(first + b"".join(rest))).namelist()) == 5


def test_empty_export_is_a_valid_zip_with_a_header_only_index(app):
    """No matches still gives a readable archive."""
    archive = zipfile.ZipFile(io.BytesIO(b"".join(zip_stream([], fake_pdf))))
    assert archive.namelist() == ["index.csv"]
    assert archive.read("index.csv").decode().splitlines() == [",".join(INDEX_COLUMNS)]


def test_answers_csv_download_keeps_the_filters(login, users, plant, start_draft):
    """GET /records/answers.csv?out_of_spec=true holds the rows of the failed record only."""
    submit_record(start_draft, users.operator, at=T0)
    failed = submit_record(start_draft, users.operator, at=T0 + timedelta(minutes=1), fail="calibration_in_date")
    response = login(users.auditor).get("/records/answers.csv?out_of_spec=true&page=&q=")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert {r["record_id"] for r in read_csv(response.get_data(as_text=True))} == {failed.id}
