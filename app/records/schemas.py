"""Input schemas for the records pages: the search filters of the query string."""
from typing import Mapping

from marshmallow import ValidationError, fields, post_load, validate

from app.services.core.errors import DomainError
from app.inputs import FilterSchema, Id, Text, Whole
from app.services.records.search import PER_PAGE, PER_PAGE_MAX, PER_PAGE_MIN, STATUSES, RecordQuery

_DATE = {"invalid": "Enter a date as YYYY-MM-DD.", "format": "Enter a date as YYYY-MM-DD."}
_CHOICE = {"invalid": "Choose one from the list."}


def _username(label: str) -> Text:
    return Text(64, f"{label} is a username of at most 64 characters.", load_default=None)


class RecordQuerySchema(FilterSchema):
    """Filters of GET /records (and its exports); an empty field means "not given". Loads a RecordQuery."""

    date_from = fields.Date(load_default=None, error_messages=_DATE)
    date_to = fields.Date(load_default=None, error_messages=_DATE)
    line = Id(load_default=None, error_messages=_CHOICE)
    station = Id(load_default=None, error_messages=_CHOICE)
    form = Text(80, "Choose a form from the list.", load_default=None)
    status = fields.String(load_default="all", validate=validate.OneOf(
        STATUSES, error="Status is one of: all, submitted (awaiting signature), signed."))
    performer = _username("Performed by")
    signer = _username("Signed by")
    out_of_spec = fields.Boolean(load_default=False, error_messages={"invalid": "Out of spec is true or false."})
    q = Text(200, "Search text is at most 200 characters.", load_default=None)
    page = Whole(1, 1_000_000, load_default=1, error_messages={"invalid": "The page is a number from 1."})
    per_page = Whole(PER_PAGE_MIN, PER_PAGE_MAX, load_default=PER_PAGE,
                     error_messages={"invalid": f"Show {PER_PAGE_MIN} to {PER_PAGE_MAX} records per page."})

    @post_load
    def _to_query(self, data: dict, **_kwargs) -> RecordQuery:
        return RecordQuery(**data)


def load_query(args: Mapping) -> RecordQuery:
    """Load the filters of a query string (request.args), or raise a 422 DomainError naming each field."""
    try:
        return RecordQuerySchema().load(args)
    except ValidationError as error:
        raise DomainError("Some filters need attention.", error.messages_dict) from error
