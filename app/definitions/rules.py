"""Rules that span a whole definition: unique names, and show_if pointing only backwards."""
import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from app.definitions.conditions import FieldPath, leaves
from app.definitions.fields import did_you_mean, show
from app.definitions.vocabulary import CONDITION_TESTS, iter_items

Found = list[tuple[FieldPath, str]]
Entry = tuple[FieldPath, dict[str, Any], dict[str, Any]]
TIME_RE = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def definition_rules(data: dict[str, Any], original: Any) -> Found:
    """Check rules no single item can check alone; data may be partial after field errors."""
    sign_off = _dicts(data.get("sign_off"))
    found = repeated(
        [(("sign_off", i, "meaning"), entry.get("meaning")) for i, entry in enumerate(sign_off)],
        "each meaning once",
        fold=True,
    )
    sections = _dicts(data.get("sections"))
    found += repeated([(("sections", i, "name"), s.get("name")) for i, s in enumerate(sections)], "section names unique")
    raw_sections = original.get("sections") if isinstance(original, dict) else None
    entries = list(_entries(sections, raw_sections if isinstance(raw_sections, list) else []))
    found += repeated(
        [((*path, "name"), item.get("name")) for path, _, item in entries],
        "item names unique across the whole definition",
    )
    found += _references(entries)
    return found


def repeated(named: list[tuple[FieldPath, Any]], expected: str, *, fold: bool = False) -> Found:
    """Report each (path, name) whose name an earlier entry already used; fold ignores case."""
    found: Found = []
    first: dict[str, FieldPath] = {}
    for path, name in named:
        if not isinstance(name, str):
            continue
        seen = first.setdefault(name.casefold() if fold else name, path)
        if seen != path:
            found.append((path, f"repeats '{name}' (first at {dotted(seen[:-1])}); expected {expected}"))
    return found


def coerce_condition_values(data: dict[str, Any]) -> None:
    """Turn `equals: 3` into "3" where the item compared is a choice, whose values are text."""
    kinds = {item["name"]: item["type"] for _, item in iter_items(data)}
    for _, item in iter_items(data):
        for _, leaf in leaves(item.get("show_if")):
            if kinds.get(leaf["item"]) not in ("choice", "multi"):
                continue
            for test in ("equals", "not_equals", "in"):
                if test in leaf:
                    leaf[test] = [_as_text(v) for v in leaf[test]] if test == "in" else _as_text(leaf[test])


def nest(found: Found) -> dict[Any, Any]:
    """Turn (path, message) pairs into marshmallow's nested error dict."""
    root: dict[Any, Any] = {}
    for path, message in found:
        node = root
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node.setdefault(path[-1], []).append(message)
    return root


def dotted(path: FieldPath) -> str:
    """Spell a path the way problems are reported: sections[0].items[2]."""
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else key)
    return text


def _dicts(value: Any) -> list[dict[str, Any]]:
    # Index-stable: a broken entry becomes {} so later paths still point at the right line.
    return [entry if isinstance(entry, dict) else {} for entry in value] if isinstance(value, list) else []


def _entries(sections: list[dict[str, Any]], raw_sections: list[Any]) -> Iterator[Entry]:
    for i, raw_section in enumerate(raw_sections):
        raw_items = raw_section.get("items") if isinstance(raw_section, dict) else None
        if not isinstance(raw_items, list):
            continue
        items = _dicts(sections[i].get("items")) if i < len(sections) else []
        for j, raw_item in enumerate(raw_items):
            valid = items[j] if j < len(items) else {}
            yield ("sections", i, "items", j), raw_item if isinstance(raw_item, dict) else {}, valid


def _references(entries: list[Entry]) -> Found:
    # Raw names tell "comes later" apart from "does not exist" even when that item is broken.
    every_name = {raw["name"] for _, raw, _ in entries if isinstance(raw.get("name"), str)}
    earlier: dict[str, dict[str, Any]] = {}
    found: Found = []
    for path, raw, item in entries:
        own = item.get("name", raw.get("name"))
        for sub, leaf in leaves(item.get("show_if")):
            found += _check_leaf(path + ("show_if", *sub), leaf, own, earlier, every_name)
        if isinstance(own, str):
            earlier.setdefault(own, item)
    return found


def _check_leaf(
    path: FieldPath, leaf: dict[str, Any], own: Any, earlier: dict[str, dict[str, Any]], every_name: set[str]
) -> Found:
    target = leaf["item"]
    if target == own:
        return [(path + ("item",), f"refers to this item itself ('{target}'); expected an item that appears earlier")]
    if target not in earlier:
        if target in every_name:
            message = f"refers to '{target}', which comes later; expected an item that appears earlier"
        else:
            suggestion = did_you_mean(target, earlier)
            message = f"refers to unknown item '{target}'; expected the name of an earlier item{suggestion}"
        return [(path + ("item",), message)]
    problem = _value_problem(earlier[target], leaf)
    return [(path + (problem[0],), problem[1])] if problem else []


def _value_problem(item: dict[str, Any], leaf: dict[str, Any]) -> tuple[str, str] | None:
    kind, name = item.get("type"), item.get("name")
    test = next((key for key in CONDITION_TESTS if key in leaf), None)
    if kind is None or test is None:
        return None
    if kind == "instruction":
        return "item", f"refers to instruction '{name}', which takes no answer; expected an item that takes an answer"
    if test == "answered":
        return None
    if kind == "photo" or (kind == "number" and item.get("samples", 1) > 1):
        return test, f"'{name}' ({kind}) cannot be compared with a value; expected answered: true"
    accepts, expected = _accepted_values(item)
    values = leaf[test] if test == "in" else [leaf[test]]
    for value in values:
        if not accepts(value):
            return test, f"{show(value)} is not a possible answer of '{name}' ({kind}); expected {expected}"
    return None


def _accepted_values(item: dict[str, Any]) -> tuple[Callable[[Any], bool], str]:
    kind = item.get("type")
    if kind == "check":
        answers = ["pass", "fail", "na"] if item.get("allow_na", True) else ["pass", "fail"]
        return (lambda v: v in answers), "one of: " + ", ".join(answers)
    if kind in ("choice", "multi"):
        values = list(dict.fromkeys(choice["value"] for choice in _dicts(item.get("choices")) if "value" in choice))
        return (lambda v: not values or _as_text(v) in values), "one of: " + ", ".join(values)
    if kind == "number":
        return (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)), "a number"
    if kind == "date":
        return _is_iso_date, "a date in quotes such as '2024-03-18'"
    if kind == "time":
        return (lambda v: isinstance(v, str) and bool(TIME_RE.fullmatch(v))), "a time in quotes such as '07:30'"
    if kind == "acknowledge":
        return (lambda v: v is True), "true"
    return (lambda v: isinstance(v, str)), "text"


def _as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _is_iso_date(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True
