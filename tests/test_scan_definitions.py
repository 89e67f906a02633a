"""Definition rules of the scan item type: pattern, pattern_hint and expect are checked at load, by line."""
from pathlib import Path

import pytest

from app.definitions import DefinitionError, load_definition

HEAD = """\
id: scan-form
version: 1
title: Scan form
sections:
  - name: main
    title: Main
    items:
      - {type: text, name: order_part, label: Ordered part}
      - {type: number, name: length, label: Length, lsl: 1, usl: 2}
"""


def problems(tmp_path: Path, *items: str) -> dict[str, tuple[int, str]]:
    """field path → (line, message) of the problems loading HEAD plus items (one per line) reports."""
    path = tmp_path / "scan-form.yaml"
    path.write_text(HEAD + "".join(f"      - {item}\n" for item in items), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    for problem in caught.value.problems:
        assert str(problem).startswith(f"{path}:{problem.line}: {problem.path}: ")
    return {p.path: (p.line, p.message) for p in caught.value.problems}


@pytest.mark.parametrize(("item", "field", "words"), [
    ('{type: scan, name: s, label: S, pattern: "BR-[0-9"}', "pattern",
     "is not a valid regular expression"),
    ("{type: scan, name: s, label: S, pattern: 'A[0-9]+', pattern_hint: B12}", "pattern_hint",
     "does not match the pattern (got 'B12'); expected an example of A[0-9]+"),
    ("{type: scan, name: s, label: S, expect: {item: nothing_here}}", "expect.item",
     "refers to unknown item 'nothing_here'; expected the name of an earlier item"),
    ("{type: scan, name: s, label: S, expect: {item: order_prt}}", "expect.item", "did you mean 'order_part'?"),
    ("{type: scan, name: s, label: S, expect: {item: s}}", "expect.item", "refers to this item itself"),
    ("{type: scan, name: s, label: S, expect: {item: length}}", "expect.item",
     "refers to 'length' (number), whose answer is not a code; expected an earlier text or scan item"),
    ("{type: scan, name: s, label: S, expect: {part: order_part}}", "expect",
     "must be a code or a mapping with one key, item or value"),
    ("{type: scan, name: s, label: S, expect: [a, b]}", "expect", "expected a fixed code in quotes"),
    ("{type: scan, name: s, label: S, on_fail: {prompt: Why}}", "on_fail",
     "this scan has no expect, so no code can fail"),
])
def test_scan_mistakes_name_the_line_and_what_was_expected(tmp_path: Path, item: str, field: str, words: str) -> None:
    """Each scan mistake is reported on the item's line, at its field, saying what was expected."""
    found = problems(tmp_path, item)
    key = f"sections[0].items[2].{field}"
    assert key in found, found
    line, message = found[key]
    assert line == 10 and words in message


def test_expect_on_a_later_item_says_it_comes_later(tmp_path: Path) -> None:
    """expect looks only backwards, like show_if."""
    found = problems(tmp_path, "{type: scan, name: s, label: S, expect: {item: later}}",
                     "{type: scan, name: later, label: Later}")
    assert found["sections[0].items[2].expect.item"] == (
        10, "refers to 'later', which comes later; expected an item that appears earlier")


@pytest.mark.parametrize(("written", "normalised"), [
    ("expect: PN-4411", {"value": "PN-4411"}),
    ("expect: 4411", {"value": "4411"}),
    ("expect: {value: PN-4411}", {"value": "PN-4411"}),
    ("expect: {item: order_part}", {"item": "order_part"}),
])
def test_expect_is_normalised_to_one_mapping(tmp_path: Path, written: str, normalised: dict) -> None:
    """A fixed code and a reference each have one stored shape; a scan with expect gets the default on_fail."""
    path = tmp_path / "ok.yaml"
    path.write_text(HEAD + f"      - {{type: scan, name: s, label: S, pattern: '[A-Z0-9-]+', {written}}}\n",
                    encoding="utf-8")
    item = load_definition(path)["sections"][0]["items"][2]
    assert item["expect"] == normalised and item["pattern"] == "[A-Z0-9-]+" and item["pattern_hint"] is None
    assert item["required"] is True and item["on_fail"]["require"] == ["reason"]
