"""check: pass / fail / not applicable."""
from typing import Any

from app.items.base import AnswerError, Answers, Item, ItemType, Verdict

CHECK_WORDS = {"pass": ("ok", "Pass"), "fail": ("fail", "Fail"), "na": ("na", "Not applicable")}


class CheckType(ItemType):
    """Pass, fail or (unless allow_na is false) N/A; a fail always fails."""

    name = "check"

    def parse_value(self, item: Item, raw: str) -> str:
        """'pass', 'fail' or 'na', refusing N/A where the item forbids it."""
        answer = raw.lower()
        if answer == "na" and not item.get("allow_na", True):
            raise AnswerError("N/A is not allowed for this check: choose pass or fail")
        if answer not in CHECK_WORDS:
            raise AnswerError("Choose one of: pass, fail" + (", na" if item.get("allow_na", True) else ""))
        return answer

    def judge(self, item: Item, value: Any, answers: Answers) -> Verdict:
        """ok, fail or na with the word shown."""
        if value not in CHECK_WORDS:
            raise ValueError(f"not a check answer: {value!r}")
        return Verdict(*CHECK_WORDS[value])

    def can_fail(self, item: Item) -> bool:
        """A check can always fail."""
        return True

    def answer_text(self, item: Item, value: Any) -> str:
        """'Pass', 'Fail' or 'Not applicable'."""
        return CHECK_WORDS.get(value, (None, str(value)))[1]

    def failure_text(self, item: Item, value: Any, answers: Answers) -> str:
        """'Guard in place: Fail'."""
        return f"{item['label']}: Fail"

    def accepts(self, item: Item):
        """The answers the check allows."""
        allowed = ["pass", "fail", "na"] if item.get("allow_na", True) else ["pass", "fail"]
        return (lambda v: v in allowed), "one of: " + ", ".join(allowed)


CHECK = CheckType()
