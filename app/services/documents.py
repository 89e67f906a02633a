"""The values of a frozen record document as a dict (the record pages' context; record_document has the rest)."""
from typing import Any

from app.services.record_document import RecordDocument


def document_values(document: dict) -> dict[str, Any]:
    """Values of the visible items of a document (the record pages' context; RecordDocument.values does it)."""
    return RecordDocument.from_dict(document).values()
