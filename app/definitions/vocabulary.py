"""The words a definition file may use, and small facts about normalised items."""
from collections.abc import Iterator, Mapping
from typing import Any

from app import items

ITEM_TYPES = items.ITEM_TYPES  # each type lives in app/items; scan is a code read with the camera
KINDS = ("checklist", "inspection", "audit", "handoff", "verification")
SCHEDULE_WORDS = ("per_shift", "hourly", "on_demand")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ON_FAIL_REQUIRE = ("reason", "action", "supervisor_decision")
CHECK_ANSWERS = ("pass", "fail", "na")
CONDITION_TESTS = ("equals", "not_equals", "in", "answered")

DEFAULT_ON_FAIL_PROMPT = "What happened, and what did you do?"


def default_on_fail() -> dict[str, Any]:
    """A fresh copy of the on_fail used when a failing-capable item has none."""
    return {"prompt": DEFAULT_ON_FAIL_PROMPT, "require": ["reason"]}


def can_fail(item: Mapping[str, Any]) -> bool:
    """True if some answer to this item counts as a failure (safe on raw, unvalidated items too)."""
    kind = item.get("type")
    return isinstance(kind, str) and kind in items.ITEM_TYPES and items.item_type(kind).can_fail(item)


def iter_items(definition: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Yield (section, item) in the order the definition lists them."""
    for section in definition["sections"]:
        for item in section["items"]:
            yield section, item
