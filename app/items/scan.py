"""scan: a code read with the tablet's camera or typed; `pattern` it must match, `expect` it must equal.

In the definition (normalised by the loader):
  pattern: a regular expression the whole code must match; a code that misses it is refused, never stored.
  pattern_hint: an example code, shown with the refusal.
  expect: {value: "PN-4411"} (a fixed code) or {item: part_number} (an earlier text or scan item's
  answer); a stored code that differs fails, raising a deviation and asking why like any failing item.
"""
import re
from typing import Any

from app.items.base import AnswerError, Answers, Item, ItemType, Verdict

MAX_CODE = 200


class ScanType(ItemType):
    """A code, scanned or typed."""

    name = "scan"
    gives_text = True

    def parse_value(self, item: Item, raw: str) -> str:
        """The code as read, refused when it is too long or misses the pattern."""
        if len(raw) > MAX_CODE:
            raise AnswerError(f"A code has at most {MAX_CODE} characters (this one has {len(raw)})")
        pattern = item.get("pattern")
        if pattern and not re.fullmatch(pattern, raw):
            hint = f", such as {item['pattern_hint']}" if item.get("pattern_hint") else ""
            raise AnswerError(f"'{raw}' is not a valid code: expected the pattern {pattern}{hint}")
        return raw

    def judge(self, item: Item, value: Any, answers: Answers) -> Verdict:
        """ok when the code equals what is expected, fail when it differs, info without an expect."""
        code = str(value)
        expect = item.get("expect")
        if not expect:
            return Verdict("info", code)
        expected = expect.get("value") if "value" in expect else answers.get(expect["item"])
        if expected is None or str(expected).strip() == "":
            return Verdict("info", f"{code}, not compared: {expect['item']} is not answered yet")
        if code == str(expected).strip():
            return Verdict("ok", f"{code}, as expected")
        return Verdict("fail", f"{code}, expected {str(expected).strip()}")

    def can_fail(self, item: Item) -> bool:
        """Only a scan with an expect can fail."""
        return item.get("expect") is not None

    def why_cannot_fail(self, item: Item) -> str:
        """No expect, no failure."""
        return "this scan has no expect, so no code can fail"

    def failure_text(self, item: Item, value: Any, answers: Answers) -> str:
        """'Part number: BR-215, expected BR-214'."""
        return f"{item['label']}: {self.judge(item, value, answers).summary}"

    def reference_paths(self, item: Item) -> tuple[tuple[tuple[str, ...], str], ...]:
        """The item named by expect: {item: …}."""
        expect = item.get("expect")
        if isinstance(expect, dict) and isinstance(expect.get("item"), str):
            return ((("expect", "item"), expect["item"]),)
        return ()

    def reference_problem(self, item: Item, target: Item, target_type: ItemType | None) -> str | None:
        """A code can only equal a text or scan answer."""
        if target_type is None or target_type.gives_text:
            return None
        return (f"refers to '{target.get('name')}' ({target_type.name}), whose answer is not a code; "
                "expected an earlier text or scan item")


SCAN = ScanType()
