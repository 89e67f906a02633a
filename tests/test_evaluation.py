"""Parsing, judging and showing answers (app.services.floor.evaluation) over normalised items."""
import json
from pathlib import Path
from typing import Any

import pytest

from app.definitions import load_definition
from app.services.floor.evaluation import (
    AnswerError,
    ReadingVerdict,
    Verdict,
    can_fail,
    dependents,
    evaluate,
    is_answered,
    is_visible,
    iter_items,
    parse_answer,
    spec_text,
    visible_names,
)

DEFINITION = """\
id: evaluation-fixture
version: 1
title: Evaluation fixture
sections:
  - name: answers
    title: Answers
    items:
      - {type: check, name: guard, label: Guard}
      - {type: check, name: estop, label: E-stop, allow_na: false}
      - type: number
        name: pressure
        label: Hydraulic pressure
        unit: bar
        nominal: 150
        lsl: 140
        usl: 160
        warn_low: 143
        warn_high: 157
        decimals: 1
      - {type: number, name: torque, label: Torque, unit: N·m, lsl: 45, usl: 55, warn_low: 46.5, warn_high: 53.5, samples: 5}
      - {type: number, name: charge, label: Charge, unit: "%", lsl: 20, warn_low: 30, decimals: 0}
      - {type: number, name: hours, label: Hours, unit: h}
      - {type: choice, name: surface, label: Surface, choices: [{value: ok, label: OK}, {value: cracked, label: Cracked, fails: true}]}
      - type: multi
        name: defects
        label: Defects
        choices:
          - {value: none, label: None found}
          - {value: forks, label: Forks bent, fails: true}
          - {value: tyres, label: Tyres worn, fails: true}
      - {type: choice, name: reason, label: Reason, choices: [{value: setup, label: Set-up}, {value: repair, label: Repair}]}
      - {type: text, name: notes, label: Notes, max_length: 10}
      - {type: text, name: long_notes, label: Long notes, multiline: true}
      - {type: date, name: service_date, label: Service date}
      - {type: time, name: check_time, label: Time of check}
      - {type: photo, name: photo, label: Photo}
      - {type: acknowledge, name: fit, label: I am fit to drive}
      - {type: instruction, name: read, label: Read this first}
  - name: conditional
    title: Conditional
    items:
      - {type: text, name: leak_where, label: Where, show_if: {item: guard, equals: fail}}
      - {type: text, name: leak_size, label: Size, show_if: {item: leak_where, answered: true}}
      - {type: text, name: not_ok, label: Not OK, show_if: {item: surface, not_equals: ok}}
      - {type: text, name: which, label: Which, show_if: {item: defects, in: [forks, tyres]}}
      - type: text
        name: escalate
        label: Escalate
        show_if:
          any:
            - {item: estop, equals: fail}
            - all: [{item: guard, equals: fail}, {item: surface, equals: cracked}]
"""


@pytest.fixture(scope="module")
def definition(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The fixture definition, loaded (and so normalised) like a real form."""
    path: Path = tmp_path_factory.mktemp("forms") / "evaluation-fixture.yaml"
    path.write_text(DEFINITION, encoding="utf-8")
    return load_definition(path)


@pytest.fixture(scope="module")
def items(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Items by name."""
    return {item["name"]: item for _, item in iter_items(definition)}


def post(**fields: str | list[str]) -> dict[str, list[str]]:
    """Form fields as a MultiDict.to_dict(flat=False) would give them."""
    return {key: value if isinstance(value, list) else [value] for key, value in fields.items()}


@pytest.mark.parametrize(
    ("value", "state", "summary"),
    [
        (171.0, "fail", "171.0 bar is above the upper limit 160 bar"),
        (139.9, "fail", "139.9 bar is below the lower limit 140 bar"),
        (160.04, "fail", "160.04 bar is above the upper limit 160 bar"),
        (158.0, "warn", "158.0 bar is above the warning limit 157 bar"),
        (142.5, "warn", "142.5 bar is below the warning limit 143 bar"),
        (150.0, "ok", "150.0 bar, within 140–160 bar"),
        (160.0, "warn", "160.0 bar is above the warning limit 157 bar"),
        (157.0, "ok", "157.0 bar, within 140–160 bar"),
        (143.0, "ok", "143.0 bar, within 140–160 bar"),
    ],
)
def test_number_limits_and_warn_band(items: dict, value: float, state: str, summary: str) -> None:
    """Outside lsl/usl fails, inside but outside the warn band warns, limits inclusive."""
    assert evaluate(items["pressure"], value) == Verdict(state, summary)


@pytest.mark.parametrize(
    ("name", "value", "state"),
    [("charge", 15.0, "fail"), ("charge", 25.0, "warn"), ("charge", 80.0, "ok"), ("hours", 1234.5, "info")],
)
def test_one_sided_and_unlimited_numbers(items: dict, name: str, value: float, state: str) -> None:
    """A lower limit alone still judges; a number without limits is information only."""
    assert evaluate(items[name], value).state == state


def test_spec_text(items: dict) -> None:
    """Spec limits read as a range, a bound, or nothing."""
    assert [spec_text(items[name]) for name in ("pressure", "charge", "hours")] == ["140–160 bar", "≥ 20 %", ""]


@pytest.mark.parametrize(
    ("readings", "state", "words", "complete"),
    [
        ([50.0, 49.0, 51.0, 50.5, 49.5], "ok", ["5 readings", "mean 50.0 N·m"], True),
        ([50.0, 54.0, 51.0, 50.5, 49.5], "warn", ["1 in the warning band"], True),
        ([50.0, 56.0, 44.0, 54.0, 49.5], "fail", ["2 of 5 outside 45–55 N·m", "min 44.0 N·m", "max 56.0 N·m"], True),
        ([50.0, None, 58.0, None, None], "fail", ["2 of 5 readings entered (incomplete)"], False),
        ([None] * 5, "unanswered", ["Not answered"], False),
    ],
)
def test_sample_series(items: dict, readings: list, state: str, words: list[str], complete: bool) -> None:
    """Each reading is judged, the worst wins, and a partial series is not an answer."""
    verdict = evaluate(items["torque"], readings)
    assert verdict.state == state
    assert all(word in verdict.summary for word in words), verdict.summary
    assert is_answered(items["torque"], readings) is complete
    assert len(verdict.readings) == 5


def test_sample_readings_are_judged_one_by_one(items: dict) -> None:
    """The readings tuple carries each value with its own state."""
    verdict = evaluate(items["torque"], [50.0, 54.0, 56.0, None, 45.0])
    assert verdict.readings == (
        ReadingVerdict(50.0, "ok"),
        ReadingVerdict(54.0, "warn"),
        ReadingVerdict(56.0, "fail"),
        ReadingVerdict(None, "unanswered"),
        ReadingVerdict(45.0, "warn"),
    )
    stored = json.loads(json.dumps(verdict.to_dict()))
    assert stored["state"] == "fail" and stored["readings"][2] == {"value": 56.0, "state": "fail"}


@pytest.mark.parametrize(
    ("name", "value", "state", "summary"),
    [
        ("guard", "pass", "ok", "Pass"),
        ("guard", "fail", "fail", "Fail"),
        ("guard", "na", "na", "Not applicable"),
        ("surface", "ok", "ok", "OK"),
        ("surface", "cracked", "fail", "Cracked (failing: Cracked)"),
        ("defects", ["none"], "ok", "None found"),
        ("defects", ["forks", "tyres"], "fail", "Forks bent, Tyres worn (failing: Forks bent, Tyres worn)"),
        ("reason", "repair", "info", "Repair"),
        ("fit", True, "ok", "Confirmed"),
        ("photo", ["a1", "a2"], "info", "2 photos"),
        ("service_date", "2024-03-18", "info", "2024-03-18"),
        ("read", None, "info", ""),
        ("notes", None, "unanswered", "Not answered"),
    ],
)
def test_verdicts_by_type(items: dict, name: str, value: Any, state: str, summary: str) -> None:
    """Checks, failing choices (named by label), and the information-only types."""
    assert evaluate(items[name], value) == Verdict(state, summary)


@pytest.mark.parametrize(
    ("name", "fields", "expected"),
    [
        ("guard", post(value="pass"), "pass"),
        ("guard", post(value=" NA "), "na"),
        ("pressure", post(value="150.5"), 150.5),
        ("pressure", post(value="158.2"), 158.2),
        ("pressure", post(value="\u22123"), -3.0),
        ("pressure", post(value="  "), None),
        ("pressure", {}, None),
        ("torque", post(sample_0="50", sample_2="49.5"), [50.0, None, 49.5, None, None]),
        ("torque", post(sample_0="", sample_1=""), None),
        ("surface", post(value="cracked"), "cracked"),
        ("defects", post(value=["tyres", "forks", "tyres", ""]), ["forks", "tyres"]),
        ("defects", post(value=[""]), None),
        ("notes", post(value="  short  "), "short"),
        ("notes", post(value="two\r\nlines"), "two lines"),
        ("long_notes", post(value="two\r\nlines"), "two\nlines"),
        ("service_date", post(value="2024-03-18"), "2024-03-18"),
        ("check_time", post(value="7:05"), "07:05"),
        ("check_time", post(value="07:30:15"), "07:30"),
        ("fit", post(value="yes"), True),
        ("fit", post(value=""), None),
    ],
)
def test_parse_answer(items: dict, name: str, fields: dict, expected: Any) -> None:
    """Posted fields become the stored JSON value; empty input clears the answer."""
    assert parse_answer(items[name], fields) == expected


@pytest.mark.parametrize(
    ("name", "fields", "message"),
    [
        ("pressure", post(value="abc"), "Enter a number such as 150.0"),
        ("pressure", post(value="1.2.3"), "Enter a number"),
        ("pressure", post(value="nan"), "Enter a number"),
        ("pressure", post(value="1,5,0"), "Enter a number"),
        ("pressure", post(value="150 bar"), "Enter a number"),
        ("torque", post(sample_0="50", sample_1="x"), "Reading 2: Enter a number"),
        ("guard", post(value="maybe"), "Choose one of: pass, fail, na"),
        ("estop", post(value="na"), "N/A is not allowed"),
        ("surface", post(value="dented"), "Choose one of: ok, cracked"),
        ("defects", post(value=["forks", "wheels"]), "Choose any of: none, forks, tyres"),
        ("notes", post(value="x" * 11), "Use at most 10 characters (you entered 11)"),
        ("service_date", post(value="18/03/2024"), "Enter a date as YYYY-MM-DD"),
        ("service_date", post(value="2024-02-30"), "Enter a date as YYYY-MM-DD"),
        ("check_time", post(value="25:00"), "Enter a time as HH:MM"),
        ("fit", post(value="no"), "Tick the box"),
    ],
)
def test_parse_answer_rejects_with_a_specific_message(items: dict, name: str, fields: dict, message: str) -> None:
    """Unusable input raises AnswerError saying what to enter instead."""
    with pytest.raises(AnswerError) as caught:
        parse_answer(items[name], fields)
    assert message in caught.value.message


@pytest.mark.parametrize("name", ["photo", "read"])
def test_parse_answer_refuses_types_without_posted_values(items: dict, name: str) -> None:
    """Photos (attachments) and instructions are not parsed from form fields."""
    with pytest.raises(ValueError):
        parse_answer(items[name], post(value="x"))


@pytest.mark.parametrize(
    ("name", "value", "answered"),
    [
        ("guard", "pass", True),
        ("guard", None, False),
        ("notes", "  ", False),
        ("defects", [], False),
        ("defects", ["none"], True),
        ("torque", [50.0] * 5, True),
        ("read", None, False),
    ],
)
def test_is_answered(items: dict, name: str, value: Any, answered: bool) -> None:
    """Only a complete value counts as an answer."""
    assert is_answered(items[name], value) is answered


@pytest.mark.parametrize(
    ("name", "answers", "visible"),
    [
        ("guard", {}, True),
        ("leak_where", {"guard": "fail"}, True),
        ("leak_where", {"guard": "pass"}, False),
        ("leak_where", {}, False),
        ("not_ok", {"surface": "cracked"}, True),
        ("not_ok", {"surface": "ok"}, False),
        ("not_ok", {}, False),
        ("which", {"defects": ["none"]}, False),
        ("which", {"defects": ["none", "tyres"]}, True),
        ("which", {"defects": []}, False),
        ("escalate", {"estop": "fail"}, True),
        ("escalate", {"guard": "fail", "surface": "cracked"}, True),
        ("escalate", {"guard": "fail", "surface": "ok"}, False),
        ("escalate", {"estop": "pass", "guard": "pass", "surface": "cracked"}, False),
    ],
)
def test_show_if(items: dict, name: str, answers: dict, visible: bool) -> None:
    """equals, not_equals, in (on a multi: any chosen), and nested all/any; unanswered hides."""
    assert is_visible(items[name], answers) is visible


def test_item_depending_on_a_hidden_item_is_hidden(definition: dict, items: dict) -> None:
    """A stale answer to a hidden item does not show its dependents."""
    stale = {"guard": "pass", "leak_where": "at the valve block"}
    assert is_visible(items["leak_size"], stale) is True
    assert is_visible(items["leak_size"], stale, definition) is False
    assert "leak_size" not in visible_names(definition, stale)
    assert is_visible(items["leak_size"], {"guard": "fail", "leak_where": "valve"}, definition) is True


@pytest.mark.parametrize(
    ("name", "transitive", "expected"),
    [
        ("guard", False, ["leak_where", "escalate"]),
        ("guard", True, ["leak_where", "leak_size", "escalate"]),
        ("surface", False, ["not_ok", "escalate"]),
        ("estop", False, ["escalate"]),
        ("notes", False, []),
    ],
)
def test_dependents(definition: dict, name: str, transitive: bool, expected: list[str]) -> None:
    """Items whose show_if mentions a name, directly or through all/any."""
    assert dependents(definition, name, transitive=transitive) == expected


@pytest.mark.parametrize(
    ("name", "fails"),
    [
        ("guard", True),
        ("pressure", True),
        ("charge", True),
        ("hours", False),
        ("surface", True),
        ("reason", False),
        ("defects", True),
        ("notes", False),
        ("fit", False),
        ("read", False),
    ],
)
def test_can_fail(items: dict, name: str, fails: bool) -> None:
    """Checks, numbers with a limit and choices with a failing option can fail."""
    assert can_fail(items[name]) is fails
    assert (items[name]["on_fail"] is not None) is fails


def test_iter_items_keeps_definition_order(definition: dict) -> None:
    """iter_items walks sections then items, in file order, with each item's section."""
    pairs = list(iter_items(definition))
    assert pairs[0][1]["name"] == "guard" and pairs[-1] == (definition["sections"][1], definition["sections"][1]["items"][-1])
