"""choice and multi: pick one option, or any number of them; options marked fails make the answer fail."""
from typing import Any

from app.items.base import AnswerError, Answers, Form, Item, ItemType, Verdict, first


class ChoiceType(ItemType):
    """Pick one option."""

    name = "choice"

    def read(self, item: Item, form: Form, decimal_comma: bool) -> Any:
        """The chosen option's value."""
        raw = first(form, "value")
        if raw is None:
            return None
        values = [choice["value"] for choice in item["choices"]]
        if raw not in values:
            raise AnswerError("Choose one of: " + ", ".join(values))
        return raw

    def judge(self, item: Item, value: Any, answers: Answers) -> Verdict:
        """The chosen labels; fail when a failing option is among them."""
        chosen = value if isinstance(value, list) else [value]
        options = {choice["value"]: choice for choice in item["choices"]}
        missing = [v for v in chosen if v not in options]
        if missing:
            raise ValueError(f"not a choice of {item['name']}: {missing[0]!r}")
        labels = [options[v]["label"] for v in chosen]
        failing = [options[v]["label"] for v in chosen if options[v]["fails"]]
        if failing:
            return Verdict("fail", ", ".join(labels) + f" (failing: {', '.join(failing)})")
        return Verdict("ok" if self.can_fail(item) else "info", ", ".join(labels))

    def can_fail(self, item: Item) -> bool:
        """True when some option is marked fails: true."""
        choices = item.get("choices")
        return isinstance(choices, list) and any(isinstance(c, dict) and c.get("fails") is True for c in choices)

    def why_cannot_fail(self, item: Item) -> str:
        """No failing option, no failure."""
        return "none of its choices is marked fails: true"

    def answer_text(self, item: Item, value: Any) -> str:
        """The chosen labels."""
        chosen = value if isinstance(value, list) else [value]
        labels = {c["value"]: c["label"] for c in item["choices"]}
        return ", ".join(labels.get(v, str(v)) for v in chosen)

    def failure_text(self, item: Item, value: Any, answers: Answers) -> str:
        """'Surface: Crack or split (failing option)'."""
        chosen = value if isinstance(value, list) else [value]
        failing = [c["label"] for c in item["choices"] if c["value"] in chosen and c.get("fails")]
        return f"{item['label']}: {', '.join(failing)} (failing option{'s' if len(failing) > 1 else ''})"

    def condition_value(self, value: Any) -> Any:
        """`equals: 3` compares with the option value "3"."""
        return as_text(value)

    def accepts(self, item: Item):
        """The option values (any value while the options themselves are broken)."""
        choices = item.get("choices")
        entries = [c for c in choices if isinstance(c, dict) and "value" in c] if isinstance(choices, list) else []
        values = list(dict.fromkeys(c["value"] for c in entries))
        return (lambda v: not values or as_text(v) in values), "one of: " + ", ".join(values)


class MultiType(ChoiceType):
    """Pick any number of options; stored sorted, so the same picks are the same answer."""

    name = "multi"
    repeats = True

    def read(self, item: Item, form: Form, decimal_comma: bool) -> Any:
        """The sorted list of chosen values, or None for none."""
        posted = form.get("value") or []
        chosen = {value.strip() for value in ([posted] if isinstance(posted, str) else posted) if value.strip()}
        values = [choice["value"] for choice in item["choices"]]
        unknown = sorted(chosen - set(values))
        if unknown:
            raise AnswerError(f"Unknown choice {unknown[0]!r}. Choose any of: " + ", ".join(values))
        return sorted(chosen) or None


def as_text(value: Any) -> Any:
    """A bare YAML integer as the text a choice value is stored as."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


CHOICE, MULTI = ChoiceType(), MultiType()
