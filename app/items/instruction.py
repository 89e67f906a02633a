"""instruction: text to read; it takes no answer and is never required."""
from typing import Any

from app.items.base import Answers, Form, Item, ItemType, Verdict


class InstructionType(ItemType):
    """No input, no answer, no verdict beyond info."""

    name = "instruction"
    takes_input = False
    answerable = False
    correctable = False

    def parse(self, item: Item, form: Form) -> Any:
        """Refused: there is nothing to answer."""
        raise ValueError(f"a {self.name} item takes no posted value; photos are stored as attachments")

    def verdict(self, item: Item, value: Any, answers: Answers) -> Verdict:
        """Always info, answered or not."""
        return Verdict("info", "")

    def is_complete(self, item: Item, value: Any) -> bool:
        """Never: there is nothing to complete."""
        return False


INSTRUCTION = InstructionType()
