"""Loading and validating checklist definitions (forms/*.yaml)."""
import json
import textwrap
from pathlib import Path

import pytest

from app.definitions import (
    DefinitionError,
    Problem,
    check_paths,
    definition_digest,
    definition_files,
    load_definition,
    load_directory,
)
from app.definitions.vocabulary import ITEM_TYPES

ROOT = Path(__file__).resolve().parent.parent
FORMS = ROOT / "forms"
BAD = Path(__file__).resolve().parent / "fixtures" / "forms_bad"
SHIPPED = definition_files(FORMS)
BROKEN = definition_files(BAD)

MINIMAL = """\
id: minimal
version: 1
title: Minimal
sections:
  - name: main
    title: Main
    items:
{items}
"""


def write(tmp_path: Path, text: str, name: str = "form.yaml") -> Path:
    """Write a definition file into tmp_path and return its path."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def with_items(tmp_path: Path, items: str, name: str = "form.yaml") -> Path:
    """A minimal valid definition around the given item YAML (indented six spaces)."""
    return write(tmp_path, MINIMAL.format(items=textwrap.indent(textwrap.dedent(items), "      ")), name)


def problems_of(path: Path) -> list[Problem]:
    """The problems load_definition reports for path (fails if it loads)."""
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    return caught.value.problems


def expectation(path: Path) -> tuple[int, str]:
    """Read the `# expect: <line> <path-substring>` header of a broken fixture."""
    header = path.read_bytes().split(b"\n", 1)[0].decode("ascii")
    marker, line, field = header.split(maxsplit=3)[1:]
    assert marker == "expect:", f"{path.name} lacks its '# expect:' header"
    return int(line), field


def test_shipped_forms_exist() -> None:
    """The six plant definitions ship in forms/."""
    names = {path.stem for path in SHIPPED}
    assert {
        "press-start-of-shift",
        "first-article-inspection",
        "torque-audit",
        "lockout-tagout",
        "5s-audit",
        "forklift-pre-use",
    } <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_form_is_valid_and_json_ready(path: Path) -> None:
    """Every shipped form loads, its id matches the file name, and it survives strict JSON."""
    definition = load_definition(path)
    assert definition["id"] == path.stem
    assert json.loads(json.dumps(definition, allow_nan=False)) == definition


def test_shipped_forms_pass_check_paths_together() -> None:
    """forms/ as a whole has no problems, including no id used twice."""
    assert check_paths([FORMS]) == []


def test_press_check_is_short_enough_to_tap_through() -> None:
    """The press check has at most ten required items, including the pressure and the photo."""
    definition = load_definition(FORMS / "press-start-of-shift.yaml")
    items = [item for section in definition["sections"] for item in section["items"]]
    required = {item["name"] for item in items if item["required"]}
    assert len(required) <= 10
    assert {"hydraulic_pressure", "guard_photo"} <= required
    by_name = {item["name"]: item for item in items}
    assert by_name["hydraulic_pressure"]["label"] == "Hydraulic pressure"
    assert by_name["guard_photo"]["label"] == "Photo of the guard"
    check_labels = [item["label"] for item in items if item["type"] == "check"]
    assert len(check_labels) == len(set(check_labels))
    assert definition["applies_to"]["stations"] == ["Press 1", "Press 2", "Press 3"]
    assert definition["sign_off"] == [{"role": "inspector", "meaning": "Reviewed"}]


def test_at_least_twelve_kinds_of_broken_fixture() -> None:
    """The broken fixtures cover at least twelve kinds of mistake."""
    assert len(BROKEN) >= 12


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.name)
def test_broken_fixture_is_rejected_at_its_line(path: Path) -> None:
    """Each broken fixture fails with the file, the expected line and field, and what was expected."""
    line, field = expectation(path)
    problems = problems_of(path)
    matching = [p for p in problems if p.line == line and field in p.path]
    assert matching, "\n".join(str(p) for p in problems)
    text = str(matching[0])
    assert text.startswith(f"{path}:{line}: ")
    assert field in text
    assert "expected" in matching[0].message


def test_every_problem_is_reported_not_only_the_first(tmp_path: Path) -> None:
    """Mistakes in different places are all reported in one go, sorted by line."""
    path = write(
        tmp_path,
        """\
        id: Not A Slug
        version: 0
        title: Many mistakes
        kind: chcklist
        sections:
          - name: main
            title: Main
            items:
              - {type: number, name: p, label: P, lsl: 60, usl: 50}
              - {type: check, name: p, label: Again}
              - {type: text, name: t, label: T, lenght: 3}
        """,
    )
    problems = problems_of(path)
    found = {(p.line, p.path) for p in problems}
    assert {
        (1, "id"),
        (2, "version"),
        (4, "kind"),
        (9, "sections[0].items[0].lsl"),
        (10, "sections[0].items[1].name"),
        (11, "sections[0].items[2].lenght"),
    } <= found
    assert [p.line for p in problems] == sorted(p.line for p in problems)


@pytest.mark.parametrize(
    ("item", "field", "words"),
    [
        ("{type: number, name: p, label: P, lsl: 60, usl: 50}", "lsl", "must be less than usl (got lsl=60, usl=50); expected lsl < usl"),
        ("{type: number, name: p, label: P, lsl: high}", "lsl", "must be a number (got 'high')"),
        ("{type: number, name: p, label: P, lsll: 1}", "lsll", "unknown key 'lsll'"),
        ("{type: number, name: p, label: P, lsll: 1}", "lsll", "did you mean 'lsl'?"),
        ("{type: numbr, name: p, label: P}", "type", "expected one of: " + ", ".join(ITEM_TYPES)),
        ("{type: check, name: p}", "label", "missing; expected"),
        ("{type: check, label: P}", "name", "missing; expected an identifier"),
        ("{type: number, name: p, label: P, samples: 21}", "samples", "got 21"),
        ("{type: number, name: p, label: P, decimals: 7}", "decimals", "from 0 to 6"),
        ("{type: check, name: p, label: P, required: maybe}", "required", "true or false"),
        ("{type: text, name: p, label: P, on_fail: {prompt: Why}}", "on_fail", "cannot fail"),
        ("{type: choice, name: p, label: P, choices: [{value: a, label: A}, {value: a, label: B}]}", "choices[1].value", "repeats 'a'"),
        ("{type: check, name: Bad-Name, label: P}", "name", "wrong form"),
    ],
)
def test_item_mistakes_say_what_and_what_was_expected(tmp_path: Path, item: str, field: str, words: str) -> None:
    """Each item-level mistake names the field and explains itself."""
    problems = problems_of(with_items(tmp_path, f"- {item}"))
    messages = [p.message for p in problems if p.path == f"sections[0].items[0].{field}"]
    assert any(words in message for message in messages), problems


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"just a string\n",
        b"[1, 2, 3]\n",
        b"id: [unclosed\n",
        b"id: x\nversion: 1\ntitle: \xff\xfe\n",
        b"a: &a [*a]\n",
        b"--- {id: a}\n--- {id: b}\n",
        b"id: x\nversion: 1\ntitle: t\nsections: 3\n",
        b"id: x\nversion: 1\ntitle: t\nsections: [3, [4], {name: s, title: S, items: {a: 1}}]\n",
        b"id: x\nversion: 1\ntitle: t\nsections: [{name: s, title: S, items: [{type: [check]}, {1: 2}]}]\n",
        b"id: x\nversion: true\ntitle: 2024-01-01\nschedule: {every: 0}\napplies_to: {lines: Line 1}\n",
        b"id: x\nversion: 1\ntitle: t\nsections: [{name: s, title: S, items: [{type: text, name: a, label: A,"
        b" show_if: {all: [{item: b}, 3, {any: []}]}}]}]\n",
        b"id: x\x00\n",
        b"id: x\nversion: 1\ntitle: t\nschedule:\napplies_to:\nsign_off: [null]\nsections: [{name: s, title: S, items: [null]}]\n",
        b"id: x\nversion: 1\ntitle: t\nsections: [{name: s, title: S, items: [{type: choice, name: c, label: C,"
        b" choices: abc, on_fail: {prompt: p}}, {type: multi, name: m, label: M, choices: 3, on_fail: x}]}]\n",
    ],
)
def test_bad_input_never_raises_a_traceback(tmp_path: Path, content: bytes) -> None:
    """Any content gives DefinitionError with located problems, never another exception."""
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    problems = problems_of(path)
    assert problems
    assert all(p.line >= 1 and p.path and "expected" in p.message for p in problems)


def test_normalised_item_has_every_key_for_its_type(tmp_path: Path) -> None:
    """Defaults are filled in, so templates and the evaluator never need .get()."""
    path = with_items(
        tmp_path,
        """\
        - {type: check, name: guards, label: Guards}
        - {type: number, name: pressure, label: Pressure, lsl: 140}
        - {type: number, name: hours, label: Hours}
        - {type: text, name: notes, label: Notes}
        - {type: photo, name: photo, label: Photo, required: false}
        - {type: instruction, name: read, label: Read this}
        """,
    )
    items = load_definition(path)["sections"][0]["items"]
    common = {"type", "name", "label", "hint", "required", "show_if", "on_fail"}
    assert all(common <= set(item) for item in items)
    check, pressure, hours, notes, photo, read = items
    assert check["allow_na"] is True and check["required"] is True
    assert check["on_fail"] == {"prompt": "What happened, and what did you do?", "require": ["reason"]}
    assert all(pressure[key] is None for key in ("nominal", "usl", "warn_low", "warn_high", "unit"))
    assert (pressure["decimals"], pressure["samples"], pressure["lsl"]) == (1, 1, 140)
    assert hours["on_fail"] is None
    assert (notes["multiline"], notes["max_length"]) == (False, 2000)
    assert (photo["max_photos"], photo["required"]) == (1, False)
    assert read["required"] is False and read["on_fail"] is None


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("per_shift", {"kind": "per_shift"}),
        ("hourly", {"kind": "hourly"}),
        ("on_demand", {"kind": "on_demand"}),
        ("{every: 30}", {"kind": "every", "minutes": 30}),
        ('{daily: "07:00"}', {"kind": "daily", "at": "07:00"}),
        ('{daily: "7:05"}', {"kind": "daily", "at": "07:05"}),
        ('{weekly: "mon 07:00"}', {"kind": "weekly", "day": "mon", "at": "07:00"}),
        ('{weekly: "Friday 13:30"}', {"kind": "weekly", "day": "fri", "at": "13:30"}),
    ],
)
def test_schedule_is_normalised(tmp_path: Path, written: str, normalised: dict) -> None:
    """Every schedule spelling becomes a dict with a kind."""
    path = write(tmp_path, MINIMAL.format(items="      - {type: check, name: a, label: A}") + f"schedule: {written}\n")
    assert load_definition(path)["schedule"] == normalised


def test_unquoted_daily_time_is_explained(tmp_path: Path) -> None:
    """YAML reads 13:30 as base-60 810; the message says to quote it."""
    path = write(tmp_path, MINIMAL.format(items="      - {type: check, name: a, label: A}") + "schedule: {daily: 13:30}\n")
    assert any("quotes" in p.message for p in problems_of(path))


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        (None, {"lines": [], "stations": []}),
        ("all", {"lines": [], "stations": []}),
        ("{lines: [Line 1]}", {"lines": ["Line 1"], "stations": []}),
        ("{stations: [Press 1, Press 2]}", {"lines": [], "stations": ["Press 1", "Press 2"]}),
    ],
)
def test_applies_to_is_normalised(tmp_path: Path, written: str | None, normalised: dict) -> None:
    """applies_to always has both lists; empty lists mean every station."""
    extra = f"applies_to: {written}\n" if written else ""
    path = write(tmp_path, MINIMAL.format(items="      - {type: check, name: a, label: A}") + extra)
    definition = load_definition(path)
    assert definition["applies_to"] == normalised
    assert (definition["kind"], definition["sign_off"], definition["description"]) == ("checklist", [], None)


def test_numeric_choice_values_become_text_everywhere(tmp_path: Path) -> None:
    """A bare 3 as a choice value and in a show_if both become "3", so answers compare equal."""
    path = with_items(
        tmp_path,
        """\
        - {type: choice, name: score, label: Score, choices: [{value: 1, label: Poor, fails: true}, {value: 3, label: Good}]}
        - {type: text, name: why, label: Why, show_if: {item: score, in: [1]}}
        """,
    )
    score, why = load_definition(path)["sections"][0]["items"]
    assert [choice["value"] for choice in score["choices"]] == ["1", "3"]
    assert why["show_if"] == {"item": "score", "in": ["1"]}


def test_yaml_anchors_reuse_a_block(tmp_path: Path) -> None:
    """An anchored choice list can be reused by alias, and the copies are independent."""
    path = with_items(
        tmp_path,
        """\
        - {type: choice, name: a, label: A, choices: &scale [{value: ok, label: OK}, {value: bad, label: Bad, fails: true}]}
        - {type: choice, name: b, label: B, choices: *scale}
        """,
    )
    first, second = load_definition(path)["sections"][0]["items"]
    assert first["choices"] == second["choices"] and first["choices"] is not second["choices"]


def test_duplicate_form_ids_across_files(tmp_path: Path) -> None:
    """Two files with one id: the second is reported at its id line, naming the first."""
    item = "      - {type: check, name: a, label: A}"
    write(tmp_path, MINIMAL.format(items=item), "a.yaml")
    write(tmp_path, "# the same id again\n" + MINIMAL.format(items=item), "b.yml")
    problems = check_paths([tmp_path])
    assert [(Path(p.file).name, p.line, p.path) for p in problems] == [("b.yml", 2, "id")]
    assert "a.yaml" in problems[0].message


def test_check_paths_accepts_files_and_reports_missing_ones(tmp_path: Path) -> None:
    """A file path is checked alone; a path that does not exist is a problem, not a crash."""
    good = with_items(tmp_path, "- {type: check, name: a, label: A}")
    assert check_paths([good]) == []
    assert [p.path for p in check_paths([tmp_path / "nope.yaml"])] == ["(file)"]
    assert [p.path for p in check_paths([tmp_path / "empty-dir"])] == ["(file)"]


def test_definition_files_lists_yaml_and_yml_sorted(tmp_path: Path) -> None:
    """Only *.yaml and *.yml, sorted by name, hidden editor files skipped."""
    for name in ("b.yml", "a.yaml", "c.txt", ".#a.yaml"):
        (tmp_path / name).write_text("x: 1\n", encoding="utf-8")
    assert [p.name for p in definition_files(tmp_path)] == ["a.yaml", "b.yml"]


def test_load_directory_raises_with_every_file_problem(tmp_path: Path) -> None:
    """load_directory returns all definitions, or raises listing problems from every file."""
    with_items(tmp_path, "- {type: check, name: a, label: A}", "good.yaml")
    assert [d["id"] for d in load_directory(tmp_path)] == ["minimal"]
    (tmp_path / "bad.yaml").write_text("id: [\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_directory(tmp_path)
    assert {Path(p.file).name for p in caught.value.problems} == {"bad.yaml"}


def test_digest_depends_on_content_not_spelling(tmp_path: Path) -> None:
    """Reordered keys and filled-in defaults give the same digest; a changed limit does not."""
    a = with_items(tmp_path, "- {type: number, name: p, label: P, lsl: 1, usl: 2}", "a.yaml")
    b = with_items(tmp_path, "- {usl: 2, lsl: 1, label: P, name: p, type: number, decimals: 1}", "b.yaml")
    c = with_items(tmp_path, "- {type: number, name: p, label: P, lsl: 1, usl: 3}", "c.yaml")
    digests = [definition_digest(load_definition(path)) for path in (a, b, c)]
    assert digests[0] == digests[1] != digests[2]


def test_problem_renders_as_file_line_path_message() -> None:
    """str(Problem) is the FILE:LINE: field.path: message format editors understand."""
    problem = Problem("forms/x.yaml", 7, "sections[0].items[1].lsl", "must be a number")
    assert str(problem) == "forms/x.yaml:7: sections[0].items[1].lsl: must be a number"
    assert str(DefinitionError([problem])) == str(problem)
