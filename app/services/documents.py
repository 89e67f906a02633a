"""Reading frozen record documents as the item macros expect them (typed documents: record_document)."""
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from app.services.record_document import RecordDocument


@dataclass(frozen=True)
class DocAnswer:
    """An answer as frozen in a record version, shaped like a draft Answer for the item macros."""

    value: Any
    reason: str | None
    action: str | None
    answered_by: SimpleNamespace
    answered_at: datetime | None


def document_answers(document: dict) -> dict[str, DocAnswer]:
    """Answered, visible items of a document keyed by item name."""
    answers = {}
    for item in document["items"]:
        if item["visible"] and item["answered_by"] is not None:
            at = datetime.fromisoformat(item["answered_at"]) if item["answered_at"] else None
            answers[item["item"]] = DocAnswer(item["value"], item["reason"], item["action"],
                                              SimpleNamespace(**item["answered_by"]), at)
    return answers


def document_values(document: dict) -> dict[str, Any]:
    """Values of the visible items of a document (the record pages' context; RecordDocument.values does it)."""
    return RecordDocument.from_dict(document).values()
