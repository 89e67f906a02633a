"""Rules that span a whole definition: unique names, and show_if pointing only backwards."""
from collections.abc import Iterator
from typing import Any

from app.definitions.conditions import FieldPath, leaves
from app.definitions.fields import did_you_mean, show
from app.definitions.vocabulary import CONDITION_TESTS, ITEM_TYPES, iter_items
from app.items import ItemType, item_type

Found = list[tuple[FieldPath, str]]
Entry = tuple[FieldPath, dict[str, Any], dict[str, Any]]


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
    """Turn `equals: 3` into "3" where the item compared stores text (a choice), as its type says."""
    kinds = {item["name"]: item_type(item) for _, item in iter_items(data)}
    for _, item in iter_items(data):
        for _, leaf in leaves(item.get("show_if")):
            kind = kinds.get(leaf["item"])
            if kind is None:
                continue
            for test in ("equals", "not_equals", "in"):
                if test in leaf:
                    value = leaf[test]
                    leaf[test] = [kind.condition_value(v) for v in value] if test == "in" else kind.condition_value(value)


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
        found += _check_type_references(path, item, own, earlier, every_name)
        if isinstance(own, str):
            earlier.setdefault(own, item)
    return found


def _check_type_references(
    path: FieldPath, item: dict[str, Any], own: Any, earlier: dict[str, dict[str, Any]], every_name: set[str]
) -> Found:
    # Items whose verdict reads another answer (a scan's expect) may, like show_if, only look backwards.
    kind = _type_of(item)
    found: Found = []
    for sub, target in kind.reference_paths(item) if kind else ():
        problem = _target_problem(target, own, earlier, every_name)
        if problem is None:
            referred = earlier[target]
            problem = kind.reference_problem(item, referred, _type_of(referred))
        if problem:
            found.append(((*path, *sub), problem))
    return found


def _target_problem(target: str, own: Any, earlier: dict[str, dict[str, Any]], every_name: set[str]) -> str | None:
    if target == own:
        return f"refers to this item itself ('{target}'); expected an item that appears earlier"
    if target in earlier:
        return None
    if target in every_name:
        return f"refers to '{target}', which comes later; expected an item that appears earlier"
    return f"refers to unknown item '{target}'; expected the name of an earlier item{did_you_mean(target, earlier)}"


def _type_of(item: dict[str, Any]) -> ItemType | None:
    kind = item.get("type")
    return item_type(kind) if kind in ITEM_TYPES else None


def _check_leaf(
    path: FieldPath, leaf: dict[str, Any], own: Any, earlier: dict[str, dict[str, Any]], every_name: set[str]
) -> Found:
    target = leaf["item"]
    problem = _target_problem(target, own, earlier, every_name)
    if problem:
        return [(path + ("item",), problem)]
    problem = _value_problem(earlier[target], leaf)
    return [(path + (problem[0],), problem[1])] if problem else []


def _value_problem(item: dict[str, Any], leaf: dict[str, Any]) -> tuple[str, str] | None:
    kind, name = _type_of(item), item.get("name")
    test = next((key for key in CONDITION_TESTS if key in leaf), None)
    if kind is None or test is None:
        return None
    if not kind.answerable:
        return "item", f"refers to {kind.name} '{name}', which takes no answer; expected an item that takes an answer"
    if test == "answered":
        return None
    if not kind.comparable(item):
        return test, f"'{name}' ({kind.name}) cannot be compared with a value; expected answered: true"
    accepts, expected = kind.accepts(item)
    values = leaf[test] if test == "in" else [leaf[test]]
    for value in values:
        if not accepts(value):
            return test, f"{show(value)} is not a possible answer of '{name}' ({kind.name}); expected {expected}"
    return None
