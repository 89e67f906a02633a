"""What is wrong with a definition file, said so a person can fix it."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One mistake in a definition file, located by file, line and field path."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        """Render as FILE:LINE: field.path: message, the format editors can jump to."""
        return f"{self.file}:{self.line}: {self.path}: {self.message}"


class DefinitionError(Exception):
    """A definition file could not be loaded; `problems` lists every mistake found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))
