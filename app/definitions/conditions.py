"""show_if: a structured condition on earlier answers; parsed, normalised and tested, never eval'd."""
import math
from collections.abc import Iterator, Mapping
from typing import Any

from marshmallow import ValidationError

from app.definitions.fields import Strict, show, unknown_key_message
from app.definitions.vocabulary import CONDITION_TESTS, iter_items
from app.items import item_type

FieldPath = tuple[str | int, ...]
CONDITION_EXAMPLE = "a condition such as {item: guard_ok, equals: pass}, {all: [...]} or {any: [...]}"
# Conditions nest through all/any; past this depth a file is a mistake, not a rule.
MAX_CONDITION_DEPTH = 8


class Condition(Strict):
    """A show_if condition: structured data, never code."""

    expected = CONDITION_EXAMPLE

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, Any]:
        condition, errors = parse_condition(value, 0)
        if errors:
            raise ValidationError(errors)
        return condition


def parse_condition(value: Any, depth: int) -> tuple[dict[str, Any], Any]:
    """Normalise one condition; return it with marshmallow-shaped errors (empty if none)."""
    if not isinstance(value, dict):
        return {}, [f"must be a mapping (got {show(value)}); expected {CONDITION_EXAMPLE}"]
    if depth >= MAX_CONDITION_DEPTH:
        return {}, [f"nests deeper than {MAX_CONDITION_DEPTH} levels; expected a simpler condition"]
    groups = [key for key in ("all", "any") if key in value]
    if groups:
        return _parse_group(value, groups[0], depth)
    errors: dict[Any, Any] = {}
    for key in value:
        if key != "item" and key not in CONDITION_TESTS:
            errors[str(key)] = [unknown_key_message(key, ["all", "any", "item", *CONDITION_TESTS])]
    item = value.get("item")
    if not isinstance(item, str) or not item:
        errors["item"] = [f"must name an earlier item (got {show(item)}); expected e.g. item: guard_ok"]
    tests = [key for key in CONDITION_TESTS if key in value]
    if len(tests) != 1:
        got = " and ".join(tests) or "none"
        errors["_schema"] = [f"needs exactly one test (got {got}); expected one of: {', '.join(CONDITION_TESTS)}"]
        return {}, errors
    test, arg = tests[0], value[tests[0]]
    if test == "answered" and arg is not True:
        errors[test] = [f"must be true (got {show(arg)}); expected answered: true"]
    elif test == "in" and (not isinstance(arg, list) or not arg or not all(_scalar(v) for v in arg)):
        errors[test] = [f"must be a non-empty list of values (got {show(arg)}); expected e.g. in: [ok, worn]"]
    elif test in ("equals", "not_equals") and not _scalar(arg):
        errors[test] = [f"must be a single value (got {show(arg)}); expected e.g. {test}: pass"]
    return {"item": item, test: arg}, errors


def _parse_group(value: dict[str, Any], group: str, depth: int) -> tuple[dict[str, Any], Any]:
    errors: dict[Any, Any] = {}
    for key in value:
        if key != group:
            errors[str(key)] = [f"cannot stand beside '{group}' (got {show(key)}); expected only {group}: [conditions]"]
    parts = value[group]
    if not isinstance(parts, list) or not parts:
        example = f"{group}: [{{item: a, equals: pass}}, ...]"
        errors[group] = [f"must be a non-empty list of conditions (got {show(parts)}); expected {example}"]
        return {}, errors
    normalised = []
    for index, part in enumerate(parts):
        condition, part_errors = parse_condition(part, depth + 1)
        if part_errors:
            errors.setdefault(group, {})[index] = part_errors
        normalised.append(condition)
    return {group: normalised}, errors


def _scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (str, int))


def _present(value: Any) -> bool:
    if isinstance(value, list):
        return any(v is not None for v in value)
    return value is not None and value != ""


def condition_holds(condition: Mapping[str, Any], answers: Mapping[str, Any]) -> bool:
    """True if the answers meet a normalised condition; a test on a missing answer is false."""
    if "all" in condition:
        return all(condition_holds(part, answers) for part in condition["all"])
    if "any" in condition:
        return any(condition_holds(part, answers) for part in condition["any"])
    value = answers.get(condition["item"])
    # A condition on a missing answer hides the item, whatever the test; "not_equals" included.
    if not _present(value):
        return False
    chosen = value if isinstance(value, list) else [value]
    if "equals" in condition:
        return condition["equals"] in chosen
    if "not_equals" in condition:
        return condition["not_equals"] not in chosen
    if "in" in condition:
        return any(v in condition["in"] for v in chosen)
    return True


def leaves(condition: Any, sub: FieldPath = ()) -> Iterator[tuple[FieldPath, dict[str, Any]]]:
    """Yield (path within the condition, leaf test) for every test, through all/any."""
    if not isinstance(condition, dict):
        return
    for group in ("all", "any"):
        for index, part in enumerate(condition.get(group) or []):
            yield from leaves(part, (*sub, group, index))
    if isinstance(condition.get("item"), str):
        yield sub, condition


def condition_items(condition: Any) -> Iterator[str]:
    """Yield every item name a condition refers to."""
    return (leaf["item"] for _, leaf in leaves(condition))


def visible_names(definition: Mapping[str, Any], answers: Mapping[str, Any]) -> set[str]:
    """Names of the items shown for these answers; a hidden item's stale answer counts as none."""
    shown: set[str] = set()
    effective: dict[str, Any] = {}
    for _, item in iter_items(definition):
        if not item.get("show_if") or condition_holds(item["show_if"], effective):
            shown.add(item["name"])
            if item["name"] in answers:
                effective[item["name"]] = answers[item["name"]]
    return shown


def dependents(definition: Mapping[str, Any], item_name: str, *, transitive: bool = False) -> list[str]:
    """Names of items whose show_if, or whose verdict (a scan's expect), mentions item_name (and so on, if transitive)."""
    found: list[str] = []
    targets = {item_name}
    for _, item in iter_items(definition):
        # Conditions and references only look backwards, so one pass in order catches chains.
        if targets & {*condition_items(item.get("show_if")), *item_type(item).references(item)}:
            found.append(item["name"])
            if transitive:
                targets.add(item["name"])
    return found
