"""instruction: text to read; it takes no answer and is never required."""
from typing import Any

from app.items.base import Answers, Item, NoInputType, Verdict


class InstructionType(NoInputType):
    """No input, no answer, no verdict beyond info."""

    name = "instruction"
    answerable = False

    def verdict(self, item: Item, value: Any, answers: Answers) -> Verdict:
        """Always info, answered or not."""
        return Verdict("info", "")

    def is_complete(self, item: Item, value: Any) -> bool:
        """Never: there is nothing to complete."""
        return False


INSTRUCTION = InstructionType()
