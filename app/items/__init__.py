"""Item types, one home: each type's parsing, judging, wording and flags; the registry maps a name to its type.

`item_type(item_or_name)` is the one place a type name becomes behaviour; nothing else should compare
`item["type"]` with a type's name to decide how an answer behaves.
"""
from collections.abc import Mapping
from typing import Any

from app.items.acknowledge import ACKNOWLEDGE
from app.items.base import (
    UNANSWERED, AnswerError, ItemType, ReadingVerdict, Verdict, article, format_number, plain, spec_text, with_unit,
)
from app.items.check import CHECK
from app.items.choice import CHOICE, MULTI
from app.items.instruction import INSTRUCTION
from app.items.number import NUMBER
from app.items.photo import PHOTO
from app.items.scan import SCAN
from app.items.text import DATE, TEXT, TIME

__all__ = [
    "ITEM_TYPES", "UNANSWERED", "AnswerError", "ItemType", "ReadingVerdict", "Verdict", "article",
    "format_number", "item_type", "plain", "spec_text", "with_unit",
]

# In the order the vocabulary lists them (and error messages name them).
TYPES: dict[str, ItemType] = {kind.name: kind for kind in (
    CHECK, NUMBER, CHOICE, MULTI, TEXT, DATE, TIME, PHOTO, ACKNOWLEDGE, INSTRUCTION, SCAN)}
ITEM_TYPES = tuple(TYPES)


def item_type(item: Mapping[str, Any] | str) -> ItemType:
    """The type object of an item (or of a type name); an unknown type raises ValueError."""
    kind = item if isinstance(item, str) else item.get("type")
    found = TYPES.get(kind) if isinstance(kind, str) else None
    if found is None:
        raise ValueError(f"unknown item type {kind!r}")
    return found
