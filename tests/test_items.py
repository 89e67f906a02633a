"""Every item type through the evaluation dispatcher: parsing, judging, wording and the type's flags."""
from pathlib import Path
from typing import Any

import pytest

from app.definitions import load_definition
from app.items import ITEM_TYPES, item_type
from app.services.floor import evaluation
from app.services.quality.deviation_text import value_text

DEFINITION = """\
id: item-types
version: 1
title: Item types
sections:
  - name: main
    title: Main
    items:
      - {type: check, name: guard, label: Guard}
      - {type: number, name: pressure, label: Pressure, unit: bar, lsl: 140, usl: 160, warn_low: 143, warn_high: 157}
      - {type: number, name: torque, label: Torque, unit: N·m, lsl: 45, usl: 55, samples: 2}
      - {type: choice, name: surface, label: Surface, choices: [{value: ok, label: OK}, {value: crack, label: Crack, fails: true}]}
      - {type: multi, name: defects, label: Defects, choices: [{value: none, label: None}, {value: bent, label: Bent, fails: true}]}
      - {type: text, name: notes, label: Notes, max_length: 5}
      - {type: date, name: day, label: Day}
      - {type: time, name: at, label: At}
      - {type: photo, name: photo, label: Photo}
      - {type: acknowledge, name: read, label: I read it}
      - {type: instruction, name: note, label: Read this}
      - {type: scan, name: traveller, label: Traveller part, pattern: "BR-2[0-9]{2}-[A-Z]", pattern_hint: BR-214-C}
      - {type: scan, name: label_part, label: Label part, pattern: "BR-2[0-9]{2}-[A-Z]", expect: {item: traveller}}
      - {type: scan, name: fixture_id, label: Fixture, expect: FX-7}
      - {type: scan, name: free_code, label: Free code}
"""


@pytest.fixture(scope="module")
def items(tmp_path_factory) -> dict[str, dict[str, Any]]:
    """The fixture's normalised items by name."""
    path = Path(tmp_path_factory.mktemp("items")) / "item-types.yaml"
    path.write_text(DEFINITION, encoding="utf-8")
    return {item["name"]: item for _s, item in evaluation.iter_items(load_definition(path))}


def post(value: Any) -> dict[str, list[str]]:
    """A posted form as the fill page sends it."""
    return {"value": value if isinstance(value, list) else [value]}


def test_registry_names_every_type_once_and_refuses_unknown_ones() -> None:
    """item_type is the one map from a type name to its behaviour."""
    assert ITEM_TYPES == ("check", "number", "choice", "multi", "text", "date", "time", "photo", "acknowledge",
                          "instruction", "scan")
    assert all(item_type(name).name == name for name in ITEM_TYPES)
    assert item_type({"type": "scan"}) is item_type("scan")
    with pytest.raises(ValueError, match="unknown item type 'barcode'"):
        item_type("barcode")


@pytest.mark.parametrize(("name", "posted", "stored", "state", "summary"), [
    ("guard", "PASS", "pass", "ok", "Pass"),
    ("guard", "fail", "fail", "fail", "Fail"),
    ("pressure", "171", 171.0, "fail", "171.0 bar is above the upper limit 160 bar"),
    ("pressure", "150.5", 150.5, "ok", "150.5 bar, within 140–160 bar"),
    ("surface", "crack", "crack", "fail", "Crack (failing: Crack)"),
    ("defects", ["none"], ["none"], "ok", "None"),
    ("notes", "short", "short", "info", "short"),
    ("day", "2026-03-18", "2026-03-18", "info", "2026-03-18"),
    ("at", "7:05", "07:05", "info", "07:05"),
    ("read", "on", True, "ok", "Confirmed"),
    ("traveller", "BR-214-C", "BR-214-C", "info", "BR-214-C"),
    ("fixture_id", " FX-7 ", "FX-7", "ok", "FX-7, as expected"),
    ("fixture_id", "FX-8", "FX-8", "fail", "FX-8, expected FX-7"),
    ("free_code", "anything 1", "anything 1", "info", "anything 1"),
])
def test_parse_then_judge(items, name: str, posted: Any, stored: Any, state: str, summary: str) -> None:
    """A posted answer is stored as its type stores it and judged with its words."""
    value = evaluation.parse_answer(items[name], post(posted))
    assert value == stored
    verdict = evaluation.evaluate(items[name], value)
    assert (verdict.state, verdict.summary) == (state, summary)


def test_a_series_is_parsed_per_reading_and_judged_by_its_worst(items) -> None:
    """samples: N posts sample_0..N-1; one reading out of spec fails the series."""
    value = evaluation.parse_answer(items["torque"], {"sample_0": ["50"], "sample_1": ["56"]})
    assert value == [50.0, 56.0]
    verdict = evaluation.evaluate(items["torque"], value)
    assert verdict.state == "fail" and "1 of 2 outside 45–55 N·m" in verdict.summary
    assert [r.state for r in verdict.readings] == ["ok", "fail"]


@pytest.mark.parametrize(("name", "posted", "message"), [
    ("guard", "maybe", "Choose one of: pass, fail, na"),
    ("pressure", "lots", "Enter a number such as 150.0"),
    ("surface", "dent", "Choose one of: ok, crack"),
    ("defects", ["rust"], "Unknown choice 'rust'"),
    ("notes", "too long", "Use at most 5 characters (you entered 8)"),
    ("day", "18.03.2026", "Enter a date as YYYY-MM-DD"),
    ("at", "25:00", "Enter a time as HH:MM"),
    ("read", "no", "Tick the box"),
    ("traveller", "BR-300-C", "'BR-300-C' is not a valid code: expected the pattern BR-2[0-9]{2}-[A-Z], such as BR-214-C"),
    ("label_part", "br-214-c", "expected the pattern BR-2[0-9]{2}-[A-Z]"),
])
def test_a_refused_answer_says_what_to_enter(items, name: str, posted: Any, message: str) -> None:
    """AnswerError carries the words the person sees in the item."""
    with pytest.raises(evaluation.AnswerError) as refused:
        evaluation.parse_answer(items[name], post(posted))
    assert message in refused.value.message


@pytest.mark.parametrize("name", ["photo", "note"])
def test_photo_and_instruction_take_no_posted_value(items, name: str) -> None:
    """Photos arrive as uploads and instructions take nothing: a posted value is a programming error."""
    with pytest.raises(ValueError, match="takes no posted value"):
        evaluation.parse_answer(items[name], post("x"))
    assert not item_type(items[name]).takes_input


def test_scan_with_an_expected_item_compares_with_that_answer(items) -> None:
    """expect: {item: …} reads the other answer: equal passes, different fails, missing is not compared."""
    item = items["label_part"]
    assert evaluation.references(item) == ("traveller",)
    assert evaluation.evaluate(item, "BR-214-C", {"traveller": "BR-214-C"}).state == "ok"
    mismatch = evaluation.evaluate(item, "BR-215-C", {"traveller": "BR-214-C"})
    assert (mismatch.state, mismatch.summary) == ("fail", "BR-215-C, expected BR-214-C")
    unknown = evaluation.evaluate(item, "BR-215-C", {})
    assert unknown.state == "info" and "not compared" in unknown.summary
    assert item_type(item).failure_text(item, "BR-215-C", {"traveller": "BR-214-C"}) == \
        "Label part: BR-215-C, expected BR-214-C"


def test_only_a_scan_with_expect_can_fail_and_gets_an_on_fail(items) -> None:
    """A scan without expect cannot fail, so no on_fail default is given it."""
    assert evaluation.can_fail(items["label_part"]) and evaluation.can_fail(items["fixture_id"])
    assert not evaluation.can_fail(items["traveller"]) and items["traveller"]["on_fail"] is None
    assert items["label_part"]["on_fail"]["require"] == ["reason"]


def test_dependents_include_a_scan_that_expects_the_answer(items, tmp_path) -> None:
    """Changing the traveller's part re-judges the label scan that expects it."""
    path = tmp_path / "item-types.yaml"
    path.write_text(DEFINITION, encoding="utf-8")
    assert evaluation.dependents(load_definition(path), "traveller") == ["label_part"]


@pytest.mark.parametrize(("name", "value", "words"), [
    ("guard", "na", "Not applicable"),
    ("pressure", 171.0, "171.0 bar"),
    ("torque", [50.0, None], "50.0, — N·m"),
    ("defects", ["bent", "none"], "Bent, None"),
    ("traveller", "BR-214-C", "BR-214-C"),
    ("notes", None, "nothing"),
])
def test_answer_wording(items, name: str, value: Any, words: str) -> None:
    """Each type words its answer for statements and change lists."""
    assert value_text(items[name], value) == words


@pytest.mark.parametrize(("name", "value", "complete"), [
    ("torque", [50.0, None], False),
    ("torque", [50.0, 51.0], True),
    ("notes", "  ", False),
    ("note", "anything", False),
    ("traveller", "BR-214-C", True),
    ("photo", ["ab" * 32], True),
])
def test_is_answered_per_type(items, name: str, value: Any, complete: bool) -> None:
    """Complete means what the type says: every reading, non-blank text, never an instruction."""
    assert evaluation.is_answered(items[name], value) is complete


def test_flags_say_what_each_type_allows(items) -> None:
    """Correction, input and photos are the type's to say, not a list elsewhere."""
    correctable = {name for name in ITEM_TYPES if item_type(name).correctable}
    assert correctable == set(ITEM_TYPES) - {"photo", "instruction"}
    assert [name for name in ITEM_TYPES if item_type(name).takes_photos] == ["photo"]
    assert [name for name in ITEM_TYPES if not item_type(name).answerable] == ["instruction"]
    assert evaluation.evaluate(items["note"], None).state == "info"
    assert evaluation.spec_text(items["pressure"]) == item_type("number").spec(items["pressure"]) == "140–160 bar"
    assert item_type("scan").spec(items["traveller"]) == ""
