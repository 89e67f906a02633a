"""acknowledge: read a statement and confirm it."""
from typing import Any

from app.items.base import AnswerError, Answers, Item, ItemType, Verdict


class AcknowledgeType(ItemType):
    """The label is the statement; a tick stores true."""

    name = "acknowledge"

    def parse_value(self, item: Item, raw: str) -> bool:
        """True for a ticked box."""
        # "on" is what a checkbox without a value attribute posts.
        if raw.lower() not in ("yes", "on"):
            raise AnswerError("Tick the box to confirm the statement")
        return True

    def judge(self, item: Item, value: Any, answers: Answers) -> Verdict:
        """Confirmed."""
        return Verdict("ok", "Confirmed")

    def accepts(self, item: Item):
        """Only true."""
        return (lambda v: v is True), "true"


ACKNOWLEDGE = AcknowledgeType()
