"""Finding deviations: the supervisor's inbox and a filtered, paginated search, newest first."""
import math
import re
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Integer, case, cast, false, func, literal, select, union_all
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Deviation, SearchDocument, Station
from app.models.deviation import ACKNOWLEDGED, OPEN, RESOLVED
from app.services.core import text_index
from app.services.core.site import site_zone

PER_PAGE = 50
_SCAN_FACTOR = 8  # as records search: below this many matches per row shown, driving from the matches wins
_NUMBER = re.compile(r"#?(\d{1,9})")


@dataclass(frozen=True)
class DeviationQuery:
    """Search filters; None means "any". Dates are days in the site's zone, both inclusive."""

    status: str | None = None
    station: int | None = None
    line: int | None = None
    decision: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None

    def args(self, page: int = 1) -> dict[str, str]:
        """The filters that are set (and the page past the first) as query-string arguments."""
        found = {spec.name: getattr(self, spec.name) for spec in fields(self)}
        args = {name: value.isoformat() if isinstance(value, date) else str(value)
                for name, value in found.items() if value not in (None, "")}
        return args | ({"page": str(page)} if page != 1 else {})

    @property
    def empty(self) -> bool:
        """True when no filter is set."""
        return not self.args()


@dataclass(frozen=True)
class DeviationPage:
    """One page of matching deviations, newest raised first."""

    items: list[Deviation]
    total: int
    page: int
    pages: int
    per_page: int = PER_PAGE

    @property
    def first(self) -> int:
        """1-based position of the first item shown (0 when none)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        """1-based position of the last item shown."""
        return self.first + len(self.items) - 1 if self.items else 0


def _loads() -> list:
    return [joinedload(Deviation.station).joinedload(Station.line), joinedload(Deviation.raised_by),
            joinedload(Deviation.decided_by)]


def _utc_midnight(day: date) -> datetime | None:
    try:
        return datetime.combine(day, time(), site_zone()).astimezone(timezone.utc)
    except OverflowError:  # past the calendar's ends: no bound
        return None


def _text(q: str, probe: bool):
    """Words through the text index, and a number as a deviation's number ("#12" is only that)."""
    number = _NUMBER.fullmatch(q.strip())
    found = None if number and q.strip().startswith("#") else text_index.candidates("deviation", q)
    if isinstance(found, list):
        ids = [int(ref) for ref in found] + ([int(number.group(1))] if number else [])
        return Deviation.id.in_(ids) if ids else false()
    parts = [found.with_only_columns(cast(SearchDocument.ref, Integer))] if found is not None else []
    if number:
        parts.append(select(literal(int(number.group(1)), Integer)))
    if not parts:
        return false()
    return text_index.probe_in(Deviation.id, parts[0] if len(parts) == 1 else union_all(*parts), probe)


def _conditions(query: DeviationQuery, probe: bool = False) -> list:
    where = []
    if query.status:
        where.append(Deviation.status == query.status)
    if query.station is not None:
        where.append(Deviation.station_id == query.station)
    if query.line is not None:
        where.append(Deviation.station_id.in_(select(Station.id).where(Station.line_id == query.line)))
    if query.decision:
        where.append(Deviation.decision == query.decision)
    if query.date_from and (start := _utc_midnight(query.date_from)):
        where.append(Deviation.raised_at >= start)
    if query.date_to and query.date_to < date.max and (end := _utc_midnight(query.date_to + timedelta(days=1))):
        where.append(Deviation.raised_at < end)
    if query.q and query.q.strip():
        where.append(_text(query.q, probe))
    return where


_NEWEST_FIRST = (Deviation.raised_at.desc(), Deviation.id.desc())


def search(filters: DeviationQuery, page: int = 1) -> DeviationPage:
    """One page of the deviations matching filters, newest raised first."""
    where = _conditions(filters)
    total = db.session.scalar(select(func.count()).select_from(Deviation).where(*where)) or 0
    # Ids first, from the indexes alone (a deep page skips index entries, and a sort carries ids, not rows);
    # with many matches the page walks the time index and tests each row (text_index.probe_in).
    many = total >= _SCAN_FACTOR * page * PER_PAGE
    ids = list(db.session.scalars(select(Deviation.id).where(*_conditions(filters, probe=many)).order_by(
        *_NEWEST_FIRST).limit(PER_PAGE).offset((page - 1) * PER_PAGE))) if total else []
    rows = {d.id: d for d in db.session.scalars(
        select(Deviation).where(Deviation.id.in_(ids)).options(*_loads()))} if ids else {}
    return DeviationPage([rows[i] for i in ids], total, page, max(1, math.ceil(total / PER_PAGE)))


def inbox() -> list[Deviation]:
    """What a supervisor acts on: open first, then acknowledged, then resolved but not closed; oldest first within."""
    order = case({OPEN: 0, ACKNOWLEDGED: 1, RESOLVED: 2}, value=Deviation.status)
    return list(db.session.scalars(select(Deviation).where(Deviation.status.in_((OPEN, ACKNOWLEDGED, RESOLVED)))
                                   .options(*_loads()).order_by(order, Deviation.raised_at, Deviation.id)))


def open_count() -> int:
    """How many deviations are open or acknowledged (the navigation's count)."""
    return db.session.scalar(select(func.count()).select_from(Deviation).where(
        Deviation.status.in_((OPEN, ACKNOWLEDGED)))) or 0
