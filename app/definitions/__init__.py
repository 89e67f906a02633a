"""Checklist definitions: load forms/*.yaml, validate them and report problems by line."""
from typing import Any

from app.canonical import canonical_json, sha256_hex
from app.definitions.loader import check_paths, definition_files, load_definition, load_directory
from app.definitions.problems import DefinitionError, Problem

__all__ = [
    "DefinitionError",
    "Problem",
    "check_paths",
    "definition_digest",
    "definition_files",
    "load_definition",
    "load_directory",
]


def definition_digest(definition: dict[str, Any]) -> str:
    """sha256 of the normalised definition's canonical JSON: equal content, equal digest."""
    return sha256_hex(canonical_json(definition))
