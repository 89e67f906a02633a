"""What every item type shares: the verdict, the answer error, number wording and the ItemType contract."""
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Item = Mapping[str, Any]
Form = Mapping[str, Any]
Answers = Mapping[str, Any]


# Posted with every change beside its answer and read before it is: the CSRF token, the tablet's clock.
ENVELOPE_FIELDS = frozenset({"csrf_token", "device_time"})


class AnswerError(ValueError):
    """A posted answer that cannot be stored; the message tells the person what to enter. fields names the
    posted fields at fault, each with its reason, when it is they (not the answer as a whole) that are refused."""

    def __init__(self, message: str, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})


@dataclass(frozen=True)
class ReadingVerdict:
    """The judgement of one reading in a measurement series."""

    value: float | None
    state: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON storage."""
        return {"value": self.value, "state": self.state}


@dataclass(frozen=True)
class Verdict:
    """The judgement of one answer: unanswered, ok, warn, fail, na or info, with words."""

    state: str
    summary: str
    readings: tuple[ReadingVerdict, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON storage."""
        return {"state": self.state, "summary": self.summary, "readings": [r.to_dict() for r in self.readings]}


UNANSWERED = Verdict("unanswered", "Not answered")


def plain(number: float) -> str:
    """A limit as written: 160.0 → "160", 8.505 → "8.505"."""
    return f"{number:.6f}".rstrip("0").rstrip(".") if isinstance(number, float) else str(number)


def with_unit(item: Item, text: str) -> str:
    """text followed by the item's unit, when it has one."""
    return f"{text} {item['unit']}" if item.get("unit") else text


def format_number(item: Item, value: float) -> str:
    """A reading with the item's decimals and unit, such as "150.0 bar"."""
    text = f"{value:.{item.get('decimals', 1)}f}"
    # Never round away what was entered: 160.04 shown as "160.0" would hide a breach of 160.
    if float(text) != value:
        text = plain(value)
    return with_unit(item, text)


def spec_text(item: Item) -> str:
    """The spec limits in words, such as "140–160 bar", "≥ 20 %" or "" when there are none."""
    lsl, usl = item.get("lsl"), item.get("usl")
    if lsl is not None and usl is not None:
        return with_unit(item, f"{plain(lsl)}–{plain(usl)}")
    if lsl is not None:
        return with_unit(item, f"≥ {plain(lsl)}")
    if usl is not None:
        return with_unit(item, f"≤ {plain(usl)}")
    return ""


def first(form: Form, key: str) -> str | None:
    """The first posted value of key, stripped; None when absent or blank."""
    values = form.get(key) or []
    if isinstance(values, str):
        values = [values]
    text = values[0].strip() if values else ""
    return text or None


def article(word: str) -> str:
    """'a' or 'an' for word, by its first letter ("an inspector", "a supervisor")."""
    return "an" if word[:1].lower() in "aeiou" else "a"


class ItemType:
    """One item type's behaviour. Subclasses override what differs; the defaults suit a plain answer.

    `takes_input`: the fill page posts a value for it (photos arrive as files, instructions take none).
    `answerable`: it holds an answer at all. `correctable`: a correction after submit may change it.
    `comparable`: show_if may compare its answer with a value (not only `answered: true`).
    """

    name = ""
    takes_input = True
    answerable = True
    correctable = True
    # Its answer is the list of stored photos, added one upload at a time.
    takes_photos = False
    # Its answer is a plain code or text another item (a scan's expect) may be compared with.
    gives_text = False
    # Its field may be posted several times (a multi's ticked boxes); every other field is posted once.
    repeats = False

    def fields(self, item: Item) -> tuple[str, ...]:
        """The fields its inputs post (the fill page's and the correct page's); no other field is taken."""
        return ("value",) if self.takes_input else ()

    def parse(self, item: Item, form: Form, decimal_comma: bool = False) -> Any:
        """Turn posted fields into the JSON value stored; None clears the answer. A field its inputs do not post,
        or posted more often than they post it, is refused: nothing the page does not show is taken (SEC-MASS-1).
        decimal_comma: the site writes 150,5 for 150.5."""
        refuse_unexpected(self, item, form)
        return self.read(item, form, decimal_comma)

    def read(self, item: Item, form: Form, decimal_comma: bool) -> Any:
        """The answer from its (checked) fields; the default reads one value."""
        raw = first(form, "value")
        return None if raw is None else self.parse_value(item, raw)

    def parse_value(self, item: Item, raw: str) -> Any:
        """Parse one non-blank posted value."""
        return raw

    def verdict(self, item: Item, value: Any, answers: Answers) -> Verdict:
        """Judge a stored answer: unanswered when empty, else what judge says."""
        if value is None or value == "" or value == []:
            return UNANSWERED
        return self.judge(item, value, answers)

    def judge(self, item: Item, value: Any, answers: Answers) -> Verdict:
        """Judge a stored, non-empty answer; answers are the submission's other values by item name."""
        text = str(value)
        return Verdict("info", text if len(text) <= 80 else text[:77] + "...")

    def can_fail(self, item: Item) -> bool:
        """True if some answer counts as a failure (safe on raw, unvalidated items too)."""
        return False

    def why_cannot_fail(self, item: Item) -> str:
        """Why on_fail is refused on this item, in the words of a definition error."""
        return f"{article(self.name)} {self.name} item cannot fail"

    def is_complete(self, item: Item, value: Any) -> bool:
        """True when value is a complete answer (a half-entered series is not)."""
        if value is None:
            return False
        if isinstance(value, str):
            return bool(value.strip())
        if isinstance(value, list):
            return bool(value)
        return True

    def answer_text(self, item: Item, value: Any) -> str:
        """A non-empty answer in words, as deviation statements and change lists print it."""
        return str(value)

    def failure_text(self, item: Item, value: Any, answers: Answers) -> str:
        """What failed, for the deviation statement: 'Hydraulic pressure 171.0 bar, spec 140–160 bar'."""
        return f"{item['label']}: {self.answer_text(item, value)}"

    def spec(self, item: Item) -> str:
        """The item's spec in words, or "" when it has none."""
        return ""

    def reference_paths(self, item: Item) -> tuple[tuple[tuple[str, ...], str], ...]:
        """(key path within the item, item name) of each other item whose answer the verdict reads."""
        return ()

    def references(self, item: Item) -> tuple[str, ...]:
        """Names of other items whose answers this item's verdict reads."""
        return tuple(name for _path, name in self.reference_paths(item))

    def reference_problem(self, item: Item, target: Item, target_type: "ItemType | None") -> str | None:
        """Why target (of type target_type, None while unknown) cannot be referred to by this item, or None when it can."""
        return None

    def comparable(self, item: Item) -> bool:
        """True when show_if may compare this item's answer with a value."""
        return self.answerable

    def condition_value(self, value: Any) -> Any:
        """A value written in a show_if test, spelt as this type stores answers."""
        return value

    def accepts(self, item: Item) -> tuple[Callable[[Any], bool], str]:
        """A test for a value show_if compares this item's answer with, and what it expects, in words."""
        return (lambda v: isinstance(v, str)), "text"


class NoInputType(ItemType):
    """A type the fill page posts no value for (photos arrive as uploads); a correction cannot change it."""

    takes_input = False
    correctable = False

    def read(self, item: Item, form: Form, decimal_comma: bool) -> Any:
        """Nothing posted is its answer."""
        raise AnswerError(f"{article(self.name).capitalize()} {self.name} item takes no posted answer")


def refuse_unexpected(kind: ItemType, item: Item, form: Form) -> None:
    """Raise AnswerError naming each posted field that kind's inputs for item do not post, or post only once."""
    allowed = kind.fields(item)
    takes = (f"{article(kind.name)} {kind.name} item takes " + (", ".join(allowed) if allowed else "no posted value"))
    faults = {}
    for name in sorted(set(form) - ENVELOPE_FIELDS):
        values = form[name]
        if name not in allowed:
            faults[name] = f"Unknown field “{name}”: {takes}"
        elif not kind.repeats and not isinstance(values, str) and len(values) > 1:
            faults[name] = f"“{name}” was posted {len(values)} times: {takes}, once"
    if faults:
        raise AnswerError(". ".join(faults.values()), faults)
