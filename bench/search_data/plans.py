"""The search bench's --plans: each engine's plan of the count and the page-of-ids query of every search."""
from sqlalchemy import func, select, text

from app.deviations.schemas import load_filters
from app.extensions import db
from app.models import Deviation, Submission
from app.records.schemas import load_query
from app.services.quality import deviation_search
from app.services.records import search


def _plan(statement) -> str:
    sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
    if db.engine.dialect.name == "postgresql":
        return " / ".join(row[0].strip() for row in db.session.execute(text("EXPLAIN " + sql)))
    return " / ".join(row[-1] for row in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)))


def print_plans(seeded, record_queries: dict, deviation_queries: dict) -> None:
    """Print the plans (the bench's own process, before the server starts)."""
    for name, args in record_queries.items():
        where = search._conditions(load_query(args))
        print(f"  plan records {name}: count: {_plan(select(func.count()).select_from(Submission).where(*where))}")
        page = select(Submission.id).where(*where).order_by(*search._NEWEST_FIRST).limit(50)
        print(f"  plan records {name}: page: {_plan(page)}")
    for name, args in deviation_queries.items():
        where = deviation_search._conditions(load_filters(args)["query"])
        print(f"  plan deviations {name}: count: "
              f"{_plan(select(func.count()).select_from(Deviation).where(*where))}")
        page = select(Deviation.id).where(*where).order_by(Deviation.raised_at.desc(), Deviation.id.desc()).limit(50)
        print(f"  plan deviations {name}: page: {_plan(page)}")
