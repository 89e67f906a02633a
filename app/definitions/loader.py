"""Load definition files: parse, validate, and report every problem with its line."""
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from app.definitions.problems import DefinitionError, Problem
from app.definitions.schemas import DefinitionSchema
from app.definitions.source import FILE_PATH, line_for, read_source

SUFFIXES = (".yaml", ".yml")


def definition_files(directory: str | Path) -> list[Path]:
    """Every *.yaml / *.yml file directly in directory, sorted by name."""
    folder = Path(directory)
    if not folder.is_dir():
        return []
    # Editors leave hidden swap and lock files beside the real ones.
    return sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file() and not p.name.startswith("."))


def load_definition(path: str | Path) -> dict[str, Any]:
    """Return the validated, normalised definition, or raise DefinitionError listing every problem."""
    definition, problems, _ = _load(Path(path))
    if problems or definition is None:
        raise DefinitionError(problems)
    return definition


def load_directory(directory: str | Path) -> list[dict[str, Any]]:
    """Load every definition in directory, or raise DefinitionError with all problems of all files."""
    files = definition_files(directory)
    problems = check_paths(files) if files else [_no_files(Path(directory))]
    if problems:
        raise DefinitionError(problems)
    return [load_definition(path) for path in files]


def check_paths(paths: list[Path]) -> list[Problem]:
    """Problems in the given files and directories, including a form id used by two files."""
    problems: list[Problem] = []
    first_file: dict[str, str] = {}
    for path in _expand(paths, problems):
        definition, found, lines = _load(path)
        problems += found
        form_id = definition.get("id") if definition else None
        if not isinstance(form_id, str):
            continue
        if form_id in first_file:
            also = first_file[form_id]
            message = f"duplicate form id '{form_id}' (also in {also}); expected each form id in one file only"
            problems.append(Problem(str(path), lines.get("id", 1), "id", message))
        else:
            first_file[form_id] = str(path)
    return problems


def flatten(messages: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Turn marshmallow's nested error dict into (dotted.path[i], message) pairs."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                child = path
            elif isinstance(key, int):
                child = f"{path}[{key}]"
            else:
                child = f"{path}.{key}" if path else str(key)
            yield from flatten(value, child)
    elif isinstance(messages, list):
        for message in messages:
            yield from flatten(message, path)
    else:
        yield path or FILE_PATH, str(messages)


def _expand(paths: list[Path], problems: list[Problem]) -> Iterator[Path]:
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = definition_files(path)
            if not files:
                problems.append(_no_files(path))
            yield from files
        elif path.exists():
            yield path
        else:
            message = "no such file or directory; expected a definition file or a folder of them"
            problems.append(Problem(str(path), 1, FILE_PATH, message))


def _no_files(folder: Path) -> Problem:
    return Problem(str(folder), 1, FILE_PATH, "no definition files here; expected at least one *.yaml file")


def _load(path: Path) -> tuple[dict[str, Any] | None, list[Problem], dict[str, int]]:
    source = read_source(path)
    name = str(path)
    problems = [Problem(name, line, field, message) for line, field, message in source.problems]
    if source.data is None and problems:
        return None, problems, source.lines
    definition: dict[str, Any] | None = None
    try:
        definition = DefinitionSchema().load(source.data)
    except ValidationError as error:
        for field, message in flatten(error.messages):
            problems.append(Problem(name, line_for(source.lines, field), field, message))
        # Keep what did load so check_paths can still compare ids; load_definition never returns it.
        partial = error.valid_data
        definition = partial if isinstance(partial, dict) else None
    problems.sort(key=lambda problem: problem.line)
    return definition, problems, source.lines
