"""The reason lists file: the shipped file loads, a bad file names every mistake by line, lookups refuse non-reasons."""
import pytest

from app import create_app
from app.config import ROOT, TestingConfig
from app.definitions import DefinitionError
from app.services.core.errors import DomainError
from app.services.floor import reasons

GOOD = """\
deviation_causes:
  - Machine / equipment
  - Material
downtime:
  - code: mechanical
    label: Mechanical
    reasons:
      - code: hydraulic_leak
        label: Hydraulic leak
      - code: jam
        label: Jam or misfeed
  - code: planned
    label: Planned
    reasons:
      - code: changeover
        label: Changeover
"""

# Line numbers matter: the assertions below name them.
BAD = """\
deviation_causes:
  - Material
  - material
  - ""
downtime:
  - code: mechanical
    label: Mechanical
    colour: red
    reasons:
      - code: hydraulic_leak
        label: Hydraulic leak
      - code: mechanical
        label: ""
  - code: Tooling Stuff
    label: Tooling
    reasons: []
  - code: electrical
    reasons:
      - code: hydraulic_leak
        label: Leak again
extra: 1
"""


def write(tmp_path, text: str, name: str = "reasons.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        reasons.load_reasons(path)
    return [str(problem) for problem in caught.value.problems]


def test_shipped_file_loads_with_both_lists(app):
    """The package default has cause categories and a two-level downtime tree of leaf reasons."""
    assert app.config["REASONS_FILE"] == str(ROOT / "app" / "reasons.yaml")
    causes = reasons.deviation_causes()
    assert causes[0] == "Machine / equipment" and "Measurement" in causes and causes[-1] == "Other"
    tree = reasons.downtime_tree()
    assert [node.code for node in tree][:2] == ["mechanical", "electrical"]
    assert all(node.children and all(not leaf.children for leaf in node.children) for node in tree)
    assert reasons.downtime_reason("hydraulic_leak") == "Mechanical › Hydraulic leak"
    assert reasons.downtime_reason("quality_hold") == "Quality › Quality hold"


def test_good_file_keeps_file_order(tmp_path):
    """Categories, reasons and causes come back in the order the file gives them."""
    lists = reasons.load_reasons(write(tmp_path, GOOD))
    assert lists.deviation_causes == ("Machine / equipment", "Material")
    assert [(n.code, [c.code for c in n.children]) for n in lists.downtime] == [
        ("mechanical", ["hydraulic_leak", "jam"]), ("planned", ["changeover"])]
    assert lists.leaf_paths["changeover"] == "Planned › Changeover"


def test_bad_file_lists_every_mistake_with_its_line(tmp_path):
    """Each mistake is reported once as FILE:LINE: path: what is wrong; expected what."""
    path = write(tmp_path, BAD)
    found = problems_of(path)
    expected = [
        (3, "deviation_causes[1]", "repeats 'material'"),
        (4, "deviation_causes[2]", "must not be blank"),
        (8, "downtime[0].colour", "unknown key 'colour'; expected one of: code, label, reasons"),
        (12, "downtime[0].reasons[1].code", "duplicate code 'mechanical' (first used at downtime[0].code)"),
        (13, "downtime[0].reasons[1].label", "must not be blank"),
        (14, "downtime[1].code", "has the wrong form (got 'Tooling Stuff')"),
        (16, "downtime[1].reasons", "has 0 entries; expected at least 1"),
        (17, "downtime[2].label", "missing; expected"),
        (19, "downtime[2].reasons[0].code", "duplicate code 'hydraulic_leak' (first used at downtime[0].reasons[0].code)"),
        (21, "extra", "unknown key 'extra'; expected one of: deviation_causes, downtime"),
    ]
    assert len(found) == len(expected), found
    for line, field, words in expected:
        prefix = f"{path}:{line}: {field}: "
        assert any(text.startswith(prefix) and words in text for text in found), (prefix, words, found)
    assert all("expected" in text for text in found)


@pytest.mark.parametrize("text,line,field,words", [
    ("", 1, "(file)", "the file is empty; expected a mapping with deviation_causes"),
    ("- a\n- b\n", 1, "(file)", "must be a mapping (got a list)"),
    ("deviation_causes: [Material]\n", 1, "downtime", "missing; expected a list of categories"),
    ("deviation_causes: []\ndowntime: [{code: a, label: A, reasons: [{code: b, label: B}]}]\n", 1,
     "deviation_causes", "has 0 entries; expected at least 1"),
    ("deviation_causes: [Material]\ndowntime:\n  - code: a\n    label: A\n    reasons: [{code: b}]\n", 5,
     "downtime[0].reasons[0].label", "missing; expected the words the operator reads"),
    ("deviation_causes: [Material\n", 2, "(yaml)", "YAML syntax error"),
])
def test_small_mistakes_are_located(tmp_path, text, line, field, words):
    """Empty, wrong shape, missing lists, empty lists, missing labels and bad YAML each name line and field."""
    path = write(tmp_path, text)
    found = problems_of(path)
    assert any(t.startswith(f"{path}:{line}: {field}: ") and words in t for t in found), found


def test_bad_file_stops_create_app_with_the_problems(tmp_path, database_url):
    """A broken reasons file fails at start-up, not at first use, and says where."""
    path = write(tmp_path, BAD)
    with pytest.raises(DefinitionError) as caught:
        create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, INSTANCE_PATH=str(tmp_path / "i"),
                   REASONS_FILE=str(path))
    message = str(caught.value)
    assert message.startswith("the reason lists (FLOORBOOK_REASONS_FILE) have 10 problem(s):\n")
    assert f"\n{path}:8: downtime[0].colour: unknown key 'colour'" in message


def test_missing_file_stops_create_app(tmp_path, database_url):
    """A REASONS_FILE that does not exist is named with what was expected."""
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(DefinitionError, match=r"nowhere.yaml:1: \(file\): cannot read the file"):
        create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, INSTANCE_PATH=str(tmp_path / "i"),
                   REASONS_FILE=str(path))


def test_configured_file_replaces_the_default(tmp_path, database_url):
    """FLOORBOOK_REASONS_FILE's file is what the app serves, loaded once at start-up."""
    path = write(tmp_path, GOOD)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, INSTANCE_PATH=str(tmp_path / "i"),
                     REASONS_FILE=str(path))
    path.write_text("not: [valid", encoding="utf-8")  # later edits need a restart, never break a running app
    with app.app_context():
        assert reasons.deviation_causes() == ["Machine / equipment", "Material"]
        assert [node.label for node in reasons.downtime_tree()] == ["Mechanical", "Planned"]


@pytest.mark.parametrize("code,words", [
    ("mechanical", "'mechanical' is the category Mechanical, not a reason"),
    ("no_such_reason", "'no_such_reason' is not a downtime reason"),
    ("", "'' is not a downtime reason"),
])
def test_only_leaf_codes_are_reasons(app, code, words):
    """A category code or an unknown code is refused with 422, naming the code on the reason field."""
    with pytest.raises(DomainError) as caught:
        reasons.downtime_reason(code)
    assert caught.value.status == 422
    assert words in caught.value.message and words in caught.value.errors["reason_code"][0]
