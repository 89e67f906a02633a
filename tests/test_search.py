"""Records search for auditors: each filter, pagination, the keyset walk, the filter schema and the page."""
import re
import dataclasses
import random
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from app.services.core.errors import DomainError
from app.models import Signature, Submission
from app.models.submission import SIGNED
from app.models.types import frozen_clock
from app.records.schemas import load_query
from app.services.floor import evaluation, submissions
from app.services.records import versions
from app.services.core.audit import Actor
from app.services.demo.history import answer_for
from app.services.core.site import site_zone
from app.services.records.search import RecordQuery, current_version, filter_options, iter_matching, search_records

TORQUE, PRESS = "torque-audit", "press-start-of-shift"
T0 = datetime(2026, 3, 10, 15, 0, tzinfo=timezone.utc)
REASON, ACTION = "Relief VALVE drifted after warm-up", "Re-set by maintenance"


def submit_record(start_draft, user, form_id: str = TORQUE, station: str = "Weld 1", at: datetime = T0,
                fail: str | None = None, reason: str = REASON, action: str = ACTION) -> Submission:
    """A record submitted at `at` through the operators' services; `fail` names an item answered out of spec."""
    with frozen_clock(at - timedelta(minutes=5)):
        draft = start_draft(user, form_id, station)
    actor, rng = Actor(user.id), random.Random(7)
    with frozen_clock(at - timedelta(minutes=1)):
        for _section, item in evaluation.iter_items(draft.form_version.definition):
            if item["type"] == "instruction" or not evaluation.is_visible(item, submissions.answer_values(draft)):
                continue
            value = ["ab" * 32] if item["type"] == "photo" else answer_for(item, rng, item["name"] == fail, at)
            result = submissions.save_answer(draft, item["name"], {}, actor, value=value, parsed=True)
            if result.verdict.state == "fail":
                submissions.explain(draft, item["name"], reason, action, actor)
    with frozen_clock(at):
        versions.submit(draft, actor)
    return draft


def sign(db, submission: Submission, signer, meaning: str = "Reviewed") -> Signature:
    """A signature by signer on the submission's current version (the signing service is not under test)."""
    version = current_version(submission)
    signature = Signature(record_version_id=version.id, content_sha256=version.sha256, signer_id=signer.id,
                          printed_name=signer.printed_name, role="inspector", meaning=meaning,
                          statement="I reviewed this record.", auth_method="password")
    db.session.add(signature)
    submission.status = SIGNED
    db.session.commit()
    return signature


def correct(db, submission: Submission, user) -> None:
    """Add version n+1 of the record (a correction)."""
    document = dataclasses.replace(current_version(submission).record, version=submission.current_version + 1)
    versions.add_version(submission, document, Actor(user.id), reason="Typo in the wrench id")
    db.session.commit()


def ids(query: RecordQuery) -> list[str]:
    """Record ids the search finds, in order."""
    return [s.id for s in search_records(query).items]


def test_only_records_not_drafts_and_status(plant, users, start_draft, db):
    """Drafts never show; status narrows to awaiting signature or signed."""
    start_draft(users.operator, TORQUE, "Weld 1")
    waiting = submit_record(start_draft, users.operator, at=T0)
    signed = submit_record(start_draft, users.operator, at=T0 + timedelta(hours=1))
    sign(db, signed, users.inspector)
    assert ids(RecordQuery()) == [signed.id, waiting.id]
    assert ids(RecordQuery(status="submitted")) == [waiting.id]
    assert ids(RecordQuery(status="signed")) == [signed.id]


def test_dates_are_whole_days_in_the_site_zone(plant, users, start_draft, app):
    """23:30 in Chicago on 9 March is 04:30 UTC on the 10th, yet it belongs to the 9th (both ends inclusive)."""
    assert site_zone().key == "America/Chicago"  # the site's own zone (Site.timezone), nothing in config
    late = submit_record(start_draft, users.operator, at=datetime(2026, 3, 10, 4, 30, tzinfo=timezone.utc))
    early = submit_record(start_draft, users.operator, at=datetime(2026, 3, 10, 5, 30, tzinfo=timezone.utc))
    ninth, tenth = date(2026, 3, 9), date(2026, 3, 10)
    assert ids(RecordQuery(date_from=ninth, date_to=ninth)) == [late.id]
    assert ids(RecordQuery(date_from=tenth, date_to=tenth)) == [early.id]
    assert ids(RecordQuery(date_from=ninth)) == [early.id, late.id]
    assert ids(RecordQuery(date_to=date(2026, 3, 8))) == []
    assert ids(RecordQuery(date_from=date(1, 1, 1), date_to=date.max)) == [early.id, late.id]


def test_line_station_and_form(plant, users, start_draft):
    """Line goes through the station; form matches every version of a form id."""
    weld = submit_record(start_draft, users.operator, TORQUE, "Weld 1", T0)
    assembly = submit_record(start_draft, users.operator, TORQUE, "Assembly 1", T0 + timedelta(minutes=1))
    press = submit_record(start_draft, users.operator, PRESS, "Press 1", T0 + timedelta(minutes=2))
    line_1, line_2 = plant.stations["Weld 1"].line_id, plant.stations["Assembly 1"].line_id
    assert ids(RecordQuery(line=line_1)) == [press.id, weld.id]
    assert ids(RecordQuery(line=line_2)) == [assembly.id]
    assert ids(RecordQuery(station=plant.stations["Weld 1"].id)) == [weld.id]
    assert ids(RecordQuery(form=TORQUE)) == [assembly.id, weld.id]
    assert ids(RecordQuery(form=PRESS, line=line_2)) == []
    assert ids(RecordQuery(form="no-such-form")) == []


def test_performer_by_username(plant, users, start_draft, make_user):
    """performer is who started the record, matched on username whatever its case."""
    other = make_user("operator", username="t-other")
    mine = submit_record(start_draft, users.operator, at=T0)
    theirs = submit_record(start_draft, other, at=T0 + timedelta(minutes=1))
    assert ids(RecordQuery(performer="t-operator")) == [mine.id]
    assert ids(RecordQuery(performer=" T-Other ")) == [theirs.id]
    assert ids(RecordQuery(performer="nobody")) == []


def test_signer_counts_only_the_current_version(plant, users, start_draft, db):
    """A signature on version 1 stops matching once version 2 supersedes it."""
    record = submit_record(start_draft, users.operator, PRESS, "Press 1")
    sign(db, record, users.inspector)
    assert ids(RecordQuery(signer="t-inspector")) == [record.id]
    assert ids(RecordQuery(signer="t-supervisor")) == []
    correct(db, record, users.supervisor)
    assert record.current_version == 2
    assert ids(RecordQuery(signer="t-inspector")) == []
    sign(db, record, users.supervisor)
    assert ids(RecordQuery(signer="t-supervisor")) == [record.id]


def test_out_of_spec(plant, users, start_draft):
    """out_of_spec keeps records with at least one failed answer."""
    good = submit_record(start_draft, users.operator, at=T0)
    bad = submit_record(start_draft, users.operator, at=T0 + timedelta(minutes=1), fail="bracket_bolt_torque")
    assert bad.fail_count == 1 and good.fail_count == 0
    assert ids(RecordQuery(out_of_spec=True)) == [bad.id]
    assert ids(RecordQuery(out_of_spec=False)) == [bad.id, good.id]


def test_free_text_words_id_and_hash(plant, users, start_draft, db):
    """q finds words case-insensitively, a record id prefix, and a sha256 prefix of any version."""
    plain = submit_record(start_draft, users.operator, at=T0)
    explained = submit_record(start_draft, users.operator, at=T0 + timedelta(minutes=1), fail="calibration_in_date")
    assert ids(RecordQuery(q="relief valve")) == [explained.id]
    assert ids(RecordQuery(q="  WELD 1 ")) == [explained.id, plain.id]
    assert ids(RecordQuery(q=plain.id[:8])) == [plain.id]
    old_sha = plain.current_sha256
    correct(db, plain, users.supervisor)
    assert ids(RecordQuery(q=plain.current_sha256[:12])) == [plain.id]
    assert ids(RecordQuery(q=old_sha[:12])) == [plain.id]
    assert ids(RecordQuery(q="%")) == [] and ids(RecordQuery(q="_")) == []


def test_pages_newest_first(plant, users, start_draft):
    """Pages split the matches without overlap, newest submitted first; a page past the end is empty."""
    made = [submit_record(start_draft, users.operator, at=T0 + timedelta(minutes=n)).id for n in range(23)]
    pages = [search_records(RecordQuery(per_page=10, page=n)) for n in (1, 2, 3)]
    assert [p.total for p in pages] == [23] * 3 and [p.pages for p in pages] == [3] * 3
    assert [len(p.items) for p in pages] == [10, 10, 3]
    assert [s.id for p in pages for s in p.items] == made[::-1]
    assert (pages[2].first, pages[2].last) == (21, 23)
    beyond = search_records(RecordQuery(per_page=10, page=9))
    assert beyond.items == [] and beyond.total == 23 and beyond.pages == 3


def test_results_load_without_n_plus_one(plant, users, start_draft, db):
    """Showing a page costs the same few statements for 2 records as for 6."""
    made: list[str] = []

    def statements_for_page(count: int) -> int:
        for _ in range(count):
            station = ("Weld 1", "Assembly 1")[len(made) % 2]
            made.append(submit_record(start_draft, users.operator, TORQUE, station, T0 + timedelta(minutes=len(made))).id)
        db.session.expire_all()
        calls = []

        def count_statement(*args):
            calls.append(args[2])
        event.listen(db.engine, "before_cursor_execute", count_statement)
        try:
            for record in search_records(RecordQuery()).items:
                assert record.station.line.name and record.form_version.title and record.started_by.printed_name
        finally:
            event.remove(db.engine, "before_cursor_execute", count_statement)
        return len(calls)
    assert statements_for_page(2) == statements_for_page(4) <= 4


def test_keyset_walk_yields_every_match_once(plant, users, start_draft, db):
    """iter_matching crosses batch edges, ties on submitted_at included, and keeps the filters."""
    made = [submit_record(start_draft, users.operator, at=T0 + timedelta(minutes=n // 3),
                        fail="calibration_in_date" if n % 2 else None).id for n in range(11)]
    walked = [s.id for s in iter_matching(RecordQuery(page=3, per_page=10), batch=4)]
    assert sorted(walked) == sorted(made) and len(walked) == len(set(walked)) == 11
    assert walked == ids(RecordQuery(per_page=20))
    failed = [s.id for s in iter_matching(RecordQuery(out_of_spec=True), batch=2)]
    assert sorted(failed) == sorted(made[1::2])


def test_filter_options(plant):
    """The selects offer every line, station and form id once."""
    options = filter_options()
    assert {line.name for line in options["lines"]} == {"Line 1", "Line 2"}
    assert "Press 1" in {s.name for s in options["stations"]}
    assert sorted(f.form_id for f in options["forms"]) == sorted(plant.forms)


def test_schema_loads_filters_and_ignores_blanks(app):
    """Blank fields are not filters; values are typed; defaults fill the rest."""
    query = load_query({"date_from": "2026-03-01", "date_to": "", "line": "2", "station": " ", "form": TORQUE,
                        "status": "signed", "performer": "", "out_of_spec": "true", "q": " torque ", "page": "3"})
    assert query == RecordQuery(date_from=date(2026, 3, 1), line=2, form=TORQUE, status="signed",
                                out_of_spec=True, q="torque", page=3, per_page=50)
    assert load_query({}) == RecordQuery()
    assert query.filter_args() == {"date_from": "2026-03-01", "line": "2", "form": TORQUE, "status": "signed",
                                   "out_of_spec": "true", "q": "torque"}
    assert query.page_args(1) == query.filter_args() and query.page_args(4)["page"] == "4"


@pytest.mark.parametrize("args, field, words", [
    ({"date_from": "2026-03-05", "date_to": "2026-03-01"}, "date_to", "on or after 2026-03-05"),
    ({"date_from": "5/3/2026"}, "date_from", "YYYY-MM-DD"),
    ({"line": "first"}, "line", "Choose one from the list"),
    ({"status": "draft"}, "status", "all, submitted (awaiting signature), signed"),
    ({"q": "x" * 201}, "q", "at most 200 characters"),
    ({"page": "0"}, "page", "a number from 1"),
    ({"per_page": "500"}, "per_page", "10 to 200 records per page"),
    ({"per_page": "5"}, "per_page", "10 to 200 records per page"),
    ({"out_of_spec": "maybe"}, "out_of_spec", "true or false"),
    ({"sort": "id"}, "sort", "Unknown field"),
])
def test_schema_errors_name_the_field(app, args, field, words):
    """A bad filter raises a 422 DomainError whose message for that field says what is expected."""
    with pytest.raises(DomainError) as raised:
        load_query(args)
    assert raised.value.status == 422
    assert words in " ".join(raised.value.errors[field])


def test_search_page_labels_every_field_and_keeps_the_filters(login, users, plant, start_draft):
    """GET /records labels each filter, lists the record, and its download links carry the filters but not the page."""
    record = submit_record(start_draft, users.operator, fail="calibration_in_date")
    html = login(users.auditor).get("/records?q=valve&status=&per_page=10").get_data(as_text=True)
    for name in ("q", "date_from", "date_to", "line", "station", "form", "status", "performer", "signer",
                 "per_page", "out_of_spec"):
        assert f'for="{name}"' in html and f'id="{name}"' in html
    assert 'hx-get="/records" hx-target="#results" hx-swap="outerHTML"' in html
    assert 'method="get" action="/records"' in html and 'value="valve"' in html
    assert f'href="/records/{record.id}"' in html and "1 failed" in html
    # Each download link also carries its own export id (the run its progress is counted in).
    assert re.search(r'href="/records/export\.zip\?q=valve&amp;export=[0-9a-f-]{36}"', html)
    assert re.search(r'href="/records/answers\.csv\?q=valve&amp;export=[0-9a-f-]{36}"', html)


def test_htmx_gets_the_results_alone_with_pages(login, users, plant, start_draft):
    """An htmx request answers the #results fragment; its page links keep the filters."""
    for n in range(12):
        submit_record(start_draft, users.operator, at=T0 + timedelta(minutes=n))
    response = login(users.auditor).get("/records?q=weld&per_page=10&page=2", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="results"') and "<html" not in html
    assert "Page 2 of 2" in html and "showing 11–12" in html
    assert 'href="/records?q=weld&amp;per_page=10" hx-get="/records?q=weld&amp;per_page=10"' in html


def test_bad_filters_answer_422_naming_the_field(login, users, plant):
    """Dates in the wrong order: 422, the field marked and its message shown on the page and in the fragment."""
    client = login(users.auditor)
    url = "/records?date_from=2026-02-01&date_to=2026-01-01"
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and 'id="date_to" name="date_to" type="date" value="2026-01-01" aria-invalid="true"' in html
    assert 'href="#date_to">Submitted to</a>: The end date is before the start date' in html
    fragment = client.get(url, headers={"HX-Request": "true"})
    assert fragment.status_code == 422 and "on or after 2026-02-01" in fragment.get_data(as_text=True)
