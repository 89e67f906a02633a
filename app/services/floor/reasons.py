"""The configurable reason lists: deviation cause categories and the downtime reason tree.

One YAML file (config REASONS_FILE) is read and validated when the app is built, so a bad file
stops start-up with every mistake listed as FILE:LINE: field.path: message; afterwards the lists
are served from app.extensions without touching the disk.
"""
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from marshmallow import ValidationError, fields, validates_schema

from app.definitions.fields import ListOf, StrictSchema, Text, absent_messages, show
from app.definitions.loader import flatten
from app.definitions.problems import DefinitionError, Problem
from app.definitions.source import line_for, read_source
from app.services.core.errors import DomainError

EXTENSION_KEY = "floorbook.reasons"
SEPARATOR = " › "
CODE = r"[a-z][a-z0-9_]{0,63}"
CODE_HELP = "a code such as hydraulic_leak (a-z, 0-9 and _, starting with a letter)"
# reason_label stores "Category › Reason" in 200 characters.
LABEL_MAX = 90
FILE_SHAPE = "a mapping with deviation_causes (a list of categories) and downtime (a list of categories with reasons)"


@dataclass(frozen=True)
class ReasonNode:
    """One entry of the downtime tree: a category (with children) or a reason (a leaf)."""

    code: str
    label: str
    children: tuple["ReasonNode", ...] = ()


@dataclass(frozen=True)
class ReasonLists:
    """The validated contents of a reasons file."""

    source: str
    deviation_causes: tuple[str, ...]
    downtime: tuple[ReasonNode, ...]
    leaf_paths: dict[str, str]


def _nested(schema: type[StrictSchema]) -> fields.Nested:
    return fields.Nested(schema, error_messages=absent_messages(schema.shape))


class ReasonSchema(StrictSchema):
    """A downtime reason an operator can pick."""

    shape = "a reason with code and label, e.g. {code: hydraulic_leak, label: Hydraulic leak}"
    code = Text(required=True, pattern=CODE, expected=CODE_HELP)
    label = Text(required=True, max_length=LABEL_MAX, expected="the words the operator reads")


class CategorySchema(StrictSchema):
    """A heading of the downtime tree with the reasons under it."""

    shape = "a category with code, label and reasons, e.g. {code: mechanical, label: Mechanical, reasons: [...]}"
    code = Text(required=True, pattern=CODE, expected=CODE_HELP)
    label = Text(required=True, max_length=LABEL_MAX, expected="the heading the operator reads")
    reasons = ListOf(_nested(ReasonSchema), required=True, min_length=1,
                     expected="a list of reasons, each with code and label")


class ReasonsFileSchema(StrictSchema):
    """The whole reasons file."""

    shape = FILE_SHAPE
    deviation_causes = ListOf(
        Text(max_length=LABEL_MAX, expected="a cause category such as Material"),
        required=True, min_length=1, expected="a list of cause categories such as Machine / equipment, Material",
    )
    downtime = ListOf(_nested(CategorySchema), required=True, min_length=1,
                      expected="a list of categories, each with code, label and reasons")

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _unique(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        # Read the raw file, so a repeat is reported even when a neighbour has other mistakes.
        if not isinstance(original, dict):
            return
        errors: dict[str, Any] = {}
        causes = original.get("deviation_causes")
        for index, first, value in _repeats(_cause_entries(causes)):
            message = f"repeats {show(value)} (first at deviation_causes[{first}]); expected each category once"
            errors.setdefault("deviation_causes", {})[index] = [message]
        for path, first, code in _repeats(_code_entries(original.get("downtime"))):
            message = f"duplicate code {show(code)} (first used at {first}); expected each code once in the file"
            _put(errors, path, message)
        if errors:
            raise ValidationError(errors)


def _cause_entries(causes: Any) -> Iterator[tuple[int, str]]:
    if isinstance(causes, list):
        for index, cause in enumerate(causes):
            if isinstance(cause, str) and cause.strip():
                yield index, cause.strip().casefold()


def _code_entries(categories: Any) -> Iterator[tuple[tuple, str]]:
    """(path parts, code) for every string code in the raw tree, categories and reasons alike."""
    if not isinstance(categories, list):
        return
    for index, category in enumerate(categories):
        if not isinstance(category, dict):
            continue
        if isinstance(category.get("code"), str):
            yield ("downtime", index, "code"), category["code"].strip()
        reasons = category.get("reasons")
        for position, reason in enumerate(reasons if isinstance(reasons, list) else []):
            if isinstance(reason, dict) and isinstance(reason.get("code"), str):
                yield ("downtime", index, "reasons", position, "code"), reason["code"].strip()


def _repeats(entries: Iterator[tuple[Any, str]]) -> Iterator[tuple[Any, Any, str]]:
    first: dict[str, Any] = {}
    for where, value in entries:
        if value in first:
            yield where, first[value], value
        else:
            first[value] = where if isinstance(where, int) else _dotted(where)


def _dotted(parts: tuple) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _put(errors: dict[Any, Any], parts: tuple, message: str) -> None:
    node = errors
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = [message]


def load_reasons(path: str | Path) -> ReasonLists:
    """Read and validate a reasons file, or raise DefinitionError listing every problem by line."""
    name = str(path)
    source = read_source(Path(path))
    problems = [Problem(name, line, field, _file_message(message)) for line, field, message in source.problems]
    data = None
    if source.data is not None or not problems:
        try:
            data = ReasonsFileSchema().load(source.data)
        except ValidationError as error:
            problems += [Problem(name, line_for(source.lines, field), field, message)
                         for field, message in flatten(error.messages)]
    if problems or data is None:
        raise DefinitionError(sorted(problems, key=lambda problem: problem.line))
    tree = tuple(
        ReasonNode(category["code"], category["label"],
                   tuple(ReasonNode(reason["code"], reason["label"]) for reason in category["reasons"]))
        for category in data["downtime"]
    )
    paths = {leaf.code: f"{node.label}{SEPARATOR}{leaf.label}" for node in tree for leaf in node.children}
    return ReasonLists(name, tuple(data["deviation_causes"]), tree, paths)


def _file_message(message: str) -> str:
    # The shared reader words an empty file for checklist definitions; say what this file needs.
    if message.startswith("the file is empty"):
        return f"the file is empty; expected {FILE_SHAPE}"
    return message


class ReasonsFileError(DefinitionError):
    """The configured reasons file cannot be used; the message heads the list of problems with the setting's name."""

    def __str__(self) -> str:
        """A heading naming FLOORBOOK_REASONS_FILE, then one FILE:LINE: field.path: message per line."""
        lines = "\n".join(str(problem) for problem in self.problems)
        return f"the reason lists (FLOORBOOK_REASONS_FILE) have {len(self.problems)} problem(s):\n{lines}"


def init_reasons(app: Flask) -> None:
    """Load app.config['REASONS_FILE'] once; a bad file stops the app from being built."""
    try:
        app.extensions[EXTENSION_KEY] = load_reasons(app.config["REASONS_FILE"])
    except DefinitionError as error:
        raise ReasonsFileError(error.problems) from None


def _lists() -> ReasonLists:
    return current_app.extensions[EXTENSION_KEY]


def deviation_causes() -> list[str]:
    """The cause categories a deviation may name, in file order."""
    return list(_lists().deviation_causes)


def downtime_tree() -> list[ReasonNode]:
    """The downtime categories, each with its reasons as children, in file order."""
    return list(_lists().downtime)


def downtime_reason(code: str) -> str:
    """Label path of a downtime reason ('Mechanical › Hydraulic leak'); only leaf codes are reasons."""
    lists = _lists()
    if code in lists.leaf_paths:
        return lists.leaf_paths[code]
    category = next((node for node in lists.downtime if node.code == code), None)
    if category is not None:
        message = f"'{code}' is the category {category.label}, not a reason; pick one of the reasons under it."
    else:
        message = f"'{code}' is not a downtime reason in {Path(lists.source).name}; pick a reason from the list."
    raise DomainError(message, {"reason_code": [message]}, status=422)
