"""The words a definition file may use, and small facts about normalised items."""
from collections.abc import Iterator, Mapping
from typing import Any

ITEM_TYPES = (
    "check",
    "number",
    "choice",
    "multi",
    "text",
    "date",
    "time",
    "photo",
    "acknowledge",
    "instruction",
)
KINDS = ("checklist", "inspection", "audit", "handoff", "verification")
ROLES = ("operator", "inspector", "supervisor", "auditor", "admin")
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
    if kind == "check":
        return True
    if kind == "number":
        return item.get("lsl") is not None or item.get("usl") is not None
    choices = item.get("choices")
    if kind in ("choice", "multi") and isinstance(choices, list):
        return any(isinstance(choice, dict) and choice.get("fails") is True for choice in choices)
    return False


def iter_items(definition: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Yield (section, item) in the order the definition lists them."""
    for section in definition["sections"]:
        for item in section["items"]:
            yield section, item
