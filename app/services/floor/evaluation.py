"""Answers against a normalised item: parse posted fields, judge values, decide visibility.

A thin dispatcher over app/items, where each item type owns its rules; this module keeps the
service API the rest of the app calls.
"""
from collections.abc import Mapping
from typing import Any

from app.definitions.conditions import condition_holds, dependents, visible_names
from app.definitions.vocabulary import can_fail, iter_items
from app.items import UNANSWERED, AnswerError, ReadingVerdict, Verdict, format_number, item_type, spec_text
from app.items.check import CHECK_WORDS

# Visibility and walking live beside show_if's parser; they are re-exported as this service's API.
__all__ = [
    "AnswerError", "CHECK_WORDS", "ReadingVerdict", "UNANSWERED", "Verdict", "can_fail", "dependents", "evaluate",
    "format_number", "is_answered", "is_visible", "iter_items", "parse_answer", "references", "spec_text",
    "visible_names",
]


def parse_answer(item: Mapping[str, Any], form: Mapping[str, list[str]], decimal_comma: bool = False) -> Any:
    """Turn posted fields into the JSON value stored for item; None clears the answer. A field item's inputs do
    not post is refused (AnswerError); decimal_comma: the site writes 150,5 for 150.5."""
    return item_type(item).parse(item, form, decimal_comma)


def evaluate(item: Mapping[str, Any], value: Any, answers: Mapping[str, Any] | None = None) -> Verdict:
    """Judge a stored answer; answers (item name → value) feed items that compare with another answer."""
    return item_type(item).verdict(item, value, answers or {})


def references(item: Mapping[str, Any]) -> tuple[str, ...]:
    """Names of the items whose answers item's verdict reads (pass their values to evaluate)."""
    return item_type(item).references(item)


def is_answered(item: Mapping[str, Any], value: Any) -> bool:
    """True when value is a complete answer; a half-entered series is not."""
    return item_type(item).is_complete(item, value)


def is_visible(
    item: Mapping[str, Any], answers: Mapping[str, Any], definition: Mapping[str, Any] | None = None
) -> bool:
    """Apply show_if; with the definition, an item depending on a hidden item is hidden too."""
    if definition is not None:
        return item["name"] in visible_names(definition, answers)
    return not item.get("show_if") or condition_holds(item["show_if"], answers)
