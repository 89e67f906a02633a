"""Finding records for auditors: filters, a page of results, and a keyset walk over every match for exports."""
import math
import re
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator, NamedTuple

from sqlalchemy import and_, false, func, or_, select, union_all
from sqlalchemy.orm import configure_mappers, joinedload, selectinload

from app.extensions import db
from app.models import FormVersion, Line, RecordSigner, RecordVersion, Signature, Station, Submission, User
from app.services.core import text_index
from app.services.core.site import site_zone

STATUSES = ("all", "submitted", "signed")
PER_PAGE, PER_PAGE_MIN, PER_PAGE_MAX = 50, 10, 200
_SCAN_FACTOR = 8  # a row reached through an index costs several times a row read in a plain scan
_HEX_PREFIX = re.compile(r"[0-9a-f-]{4,64}")  # shorter fragments would match ids by chance


@dataclass(frozen=True)
class RecordQuery:
    """What an auditor filters on; None means "any". Dates are days in the site's zone, both inclusive."""

    date_from: date | None = None
    date_to: date | None = None
    line: int | None = None
    station: int | None = None
    form: str | None = None
    status: str = "all"
    performer: str | None = None
    signer: str | None = None
    out_of_spec: bool = False
    q: str | None = None
    page: int = 1
    per_page: int = PER_PAGE

    def filter_args(self) -> dict[str, str]:
        """The filters that are set, as query-string arguments (exports and links that keep the filters)."""
        args = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.name in ("page", "per_page") or value in (None, "", False) or (
                    spec.name == "status" and value == "all"):
                continue
            args[spec.name] = "true" if value is True else value.isoformat() if isinstance(value, date) else str(value)
        return args

    def page_args(self, page: int) -> dict[str, str]:
        """filter_args plus the page size and the given page (defaults left out)."""
        args = self.filter_args()
        if self.per_page != PER_PAGE:
            args["per_page"] = str(self.per_page)
        if page != 1:
            args["page"] = str(page)
        return args


@dataclass(frozen=True)
class ResultPage:
    """One page of matching records, newest submitted first."""

    items: list[Submission]
    total: int
    page: int
    pages: int
    per_page: int

    @property
    def first(self) -> int:
        """1-based position of the first item shown (0 when none)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        """1-based position of the last item shown."""
        return self.first + len(self.items) - 1 if self.items else 0


class FormChoice(NamedTuple):
    """A form as the filter offers it: its id and newest title."""

    form_id: str
    title: str


def _utc_midnight(day: date) -> datetime | None:
    """Start of day in the site's zone, in UTC; None past the calendar's ends (no bound)."""
    try:
        zone = site_zone()
        return datetime.combine(day, time(), zone).astimezone(timezone.utc)
    except OverflowError:
        return None


def _user_ids(username: str) -> list[int]:
    """The user's id (none for an unknown name), looked up first so the planner sees the value it filters on."""
    return list(db.session.scalars(select(User.id).where(User.username == username.strip().lower())))


def _prefix(column, prefix: str):
    """column starts with prefix, as a range an index answers (prefix is lowercase hex and '-', all below 'g')."""
    return and_(column >= prefix, column < prefix + "g")


def _text_match(q: str, probe: bool = False):
    """Words through the text index; a hex fragment also as a record id prefix or any version's sha256 prefix.
    One IN over a UNION of the candidates: each part walks its own index (an OR of subqueries would make
    PostgreSQL test every record against each)."""
    words = text_index.candidates("record", q)
    fragment = q.strip().lower()
    if not _HEX_PREFIX.fullmatch(fragment):
        return false() if words is None or words == [] else text_index.probe_in(Submission.id, words, probe)
    parts = [select(Submission.id).where(_prefix(Submission.id, fragment)),
             select(RecordVersion.submission_id).where(_prefix(RecordVersion.sha256, fragment))]
    if isinstance(words, list):
        parts.append(select(Submission.id).where(Submission.id.in_(words)))
    elif words is not None:
        parts.append(words)
    return text_index.probe_in(Submission.id, union_all(*parts), probe)


def _signed_by(username: str, probe: bool = False):
    """A signature by username on the record's current version (record_signer, kept by the database)."""
    signed = select(RecordSigner.submission_id).where(RecordSigner.signer_id.in_(_user_ids(username)))
    return text_index.probe_in(Submission.id, signed, probe)


def _conditions(query: RecordQuery, probe: bool = False) -> list:
    """WHERE clauses for query; drafts are never records. probe: see text_index.probe_in."""
    # Every record has a submit time and no draft has one: this form of "not a draft" is answered from the index.
    # Only records are signed, so with a signer it goes (the count then reads the signer's records' ids alone).
    where = [Submission.status == query.status] if query.status != "all" else [] if query.signer else [
        Submission.submitted_at.is_not(None)]
    if query.date_from and (start := _utc_midnight(query.date_from)):
        where.append(Submission.submitted_at >= start)
    if query.date_to and query.date_to < date.max and (end := _utc_midnight(query.date_to + timedelta(days=1))):
        where.append(Submission.submitted_at < end)
    if query.line is not None:
        where.append(Submission.station_id.in_(select(Station.id).where(Station.line_id == query.line)))
    if query.station is not None:
        where.append(Submission.station_id == query.station)
    if query.form:
        where.append(Submission.form_version_id.in_(select(FormVersion.id).where(FormVersion.form_id == query.form)))
    if query.performer:
        where.append(Submission.started_by_id.in_(_user_ids(query.performer)))
    if query.signer:
        where.append(_signed_by(query.signer, probe))
    if query.out_of_spec:
        where.append(Submission.fail_count > 0)
    if query.q and query.q.strip():
        where.append(_text_match(query.q, probe))
    return where


_NEWEST_FIRST = (Submission.submitted_at.desc(), Submission.id.desc())


def _table_loads() -> list:
    # form_version through selectin: its definition JSON is loaded once per form, not once per row.
    return [joinedload(Submission.station).joinedload(Station.line), joinedload(Submission.started_by),
            selectinload(Submission.form_version)]


def _narrowing(query: RecordQuery) -> bool:
    """True when a filter must read each candidate row beyond the index the page walks. One of station, status
    or out-of-spec alone (with dates or not) is answered by its own index, newest first."""
    if any((query.line, query.form, query.performer, query.signer, query.q and query.q.strip())):
        return True
    return sum((query.station is not None, query.status != "all", query.out_of_spec)) > 1


def _page_ids(query: RecordQuery, where: list, total: int) -> list[str]:
    offset = (query.page - 1) * query.per_page
    # Walking the submit-time index reads (offset + per_page) * rows / total rows, each a random lookup: with
    # few matches that is most of the table, so find the matches in one plain scan first and sort only those.
    if _narrowing(query) and total < _SCAN_FACTOR * (offset + query.per_page):
        ids = select(Submission.id).where(Submission.id.in_(select(Submission.id).where(*where)))
    else:  # many matches: walk the index, testing each row against the filters' candidates
        ids = select(Submission.id).where(*_conditions(query, probe=True))
    return list(db.session.scalars(ids.order_by(*_NEWEST_FIRST).limit(query.per_page).offset(offset)))


def search_records(query: RecordQuery) -> ResultPage:
    """One page of the records matching query, with what the results table shows loaded."""
    where = _conditions(query)
    total = db.session.scalar(select(func.count()).select_from(Submission).where(*where)) or 0
    # Ids first, rows after: a deep page skips index entries, not whole rows.
    page_ids = _page_ids(query, where, total) if total else []
    rows = {s.id: s for s in db.session.scalars(
        select(Submission).where(Submission.id.in_(page_ids)).options(*_table_loads()))} if page_ids else {}
    pages = max(1, math.ceil(total / query.per_page))
    return ResultPage(items=[rows[i] for i in page_ids], total=total, page=query.page, pages=pages,
                      per_page=query.per_page)


def iter_matching(query: RecordQuery, batch: int = 500) -> Iterator[Submission]:
    """Every record matching query (page ignored), newest first, fetched batch by batch on (submitted_at, id)."""
    configure_mappers()  # RecordVersion.signatures is a backref, present once the mappers are configured
    where = _conditions(query)
    loads = _table_loads() + [selectinload(Submission.versions).selectinload(RecordVersion.signatures)
                              .joinedload(Signature.signer)]
    after: tuple[datetime, str] | None = None
    while True:
        stmt = select(Submission).where(*where).options(*loads).order_by(*_NEWEST_FIRST).limit(batch)
        if after is not None:
            stmt = stmt.where(Submission.submitted_at <= after[0],  # the range bound an index can use
                              or_(Submission.submitted_at < after[0], Submission.id < after[1]))
        rows = list(db.session.scalars(stmt))
        yield from rows
        if len(rows) < batch:
            return
        after = (rows[-1].submitted_at, rows[-1].id)


def current_version(submission: Submission) -> RecordVersion:
    """The submission's current record version."""
    return next(v for v in reversed(submission.versions) if v.version == submission.current_version)


def filter_options() -> dict:
    """What the filter selects offer: lines, stations and forms (newest title per form id)."""
    lines = list(db.session.scalars(select(Line).options(joinedload(Line.area)).order_by(Line.name)))
    stations = list(db.session.scalars(select(Station).options(joinedload(Station.line)).order_by(Station.name)))
    newest = {}
    titles = select(FormVersion.form_id, FormVersion.title).order_by(FormVersion.version)
    for form_id, title in db.session.execute(titles):
        newest[form_id] = title
    forms = [FormChoice(form_id, title) for form_id, title in sorted(newest.items(), key=lambda pair: pair[1].lower())]
    return {"lines": lines, "stations": stations, "forms": forms}
