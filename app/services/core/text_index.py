"""Engine-native free text over one index (search_document): SQLite FTS5 or PostgreSQL full-text, same answers.

Every text is normalised here before either engine sees it (casefolded, accents folded, split into runs of
letters and digits, joined by single spaces), and so is every query: the engines' tokenizers then only split
on spaces, so FTS5's unicode61 and PostgreSQL's 'simple' configuration (no stemming, no stop words) find
exactly the same documents. A query matches a document holding every word of it, the last word also as a
prefix ("relief val" finds "relief valve": people type the last word as they search). Query words are quoted
(FTS5 "word", tsquery 'word'): nothing a person types is ever read as an operator (AND, OR, NEAR, *, :, quotes
and parentheses are separators), so no input raises a syntax error.

Writers call put() in their own transaction; readers use matching_refs() inside their query.
"""
import re
import unicodedata

from sqlalchemy import Select, Text, cast, column, func, literal, literal_column, select, table
from sqlalchemy.dialects.postgresql import REGCONFIG, TSQUERY

from app.extensions import db
from app.models.search_document import SearchDocument

# The engines' own index objects (made by the migration; see app/models/search_document.py).
_FTS = table("search_document_fts", column("rowid"))
_TSV = literal_column("search_document.tsv")
_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script; underscores and punctuation separate


def words(text: str | None) -> list[str]:
    """The normalised words of text: 'Relief VALVE, re-set (tw_0417)' → relief valve re set tw 0417."""
    folded = unicodedata.normalize("NFKD", (text or "").casefold())
    return _WORD.findall("".join(ch for ch in folded if not unicodedata.combining(ch)))


def put(kind: str, ref: str, text: str) -> None:
    """Make text what kind/ref is found by, replacing what it was found by before (in the caller's transaction)."""
    normalised = " ".join(words(text))
    document = db.session.scalar(select(SearchDocument).where(SearchDocument.kind == kind, SearchDocument.ref == ref))
    if document is None:
        db.session.add(SearchDocument(kind=kind, ref=ref, words=normalised))
    elif document.words != normalised:
        document.words = normalised


def _fts5_query(kind: str, terms: list[str]) -> str:
    # Terms are letters and digits only, so a double quote can never end a string early; kinds are ours.
    phrases = [f'words : "{term}"' for term in terms]
    return " AND ".join([f'kind : "{kind}"', *phrases]) + "*"


def _tsquery(terms: list[str]) -> str:
    return " & ".join(f"'{term}'" for term in terms) + ":*"


def matching_refs(kind: str, query: str | None) -> Select | None:
    """SELECT of the refs of kind whose words hold every word of query (the last as a prefix); None when the
    query has no words (nothing to match)."""
    terms = words(query)
    if not terms:
        return None
    if db.engine.dialect.name == "postgresql":
        of_kind = cast(literal(f"'kind:{kind}'"), TSQUERY)  # the kind's lexeme (see the migration)
        tsquery = of_kind.op("&&")(func.to_tsquery(cast(literal("simple"), REGCONFIG), literal(_tsquery(terms), Text)))
        return select(SearchDocument.ref).where(_TSV.op("@@")(tsquery))
    # The MATCH in a subquery of its own: SQLite then runs it once and looks the documents up by rowid (as a
    # join it may drive from the documents and run the MATCH once per document).
    hits = select(_FTS.c.rowid).where(literal_column(_FTS.name).op("MATCH")(literal(_fts5_query(kind, terms), Text)))
    return select(SearchDocument.ref).where(SearchDocument.id.in_(hits))


LIST_MAX = 1000  # matches passed on as a list of values; past this many, as a subquery


def candidates(kind: str, query: str | None) -> list[str] | Select | None:
    """The refs matching query: a list when there are at most LIST_MAX (found once, so the planner of the search
    that uses them sees how few they are), else the SELECT (matching_refs); None when the query has no words."""
    refs = matching_refs(kind, query)
    if refs is None:
        return None
    found = list(db.session.scalars(refs.limit(LIST_MAX + 1)))
    return found if len(found) <= LIST_MAX else refs


def probe_in(column, candidates: Select | list, probe: bool):
    """column IN candidates; with probe, written so that SQLite tests rows against the candidates instead of
    driving from them (unary plus: no index on the left). A page of a search with many matches then walks its
    time index newest first and stops at the page, instead of looking up and sorting every match."""
    if probe and db.engine.dialect.name == "sqlite" and not isinstance(candidates, list):
        return literal_column(f"+{column.table.name}.{column.name}").in_(candidates)
    return column.in_(candidates)
