"""number: one reading or a series of samples, judged against spec limits and a warning band."""
import math
import re
from typing import Any

from app.items.base import (
    AnswerError, Answers, Form, Item, ItemType, ReadingVerdict, Verdict, first, format_number, plain, spec_text,
    with_unit,
)

# ASCII digits only (\d alone would take Arabic-Indic and other scripts' digits, and float() reads them) and at
# most one decimal point; group 2 is the decimal places.
NUMBER_RE = re.compile(r"[+-]?(\d+(?:\.(\d*))?|\.(\d+))", re.ASCII)
# The worst reading decides the state of a series.
SEVERITY = {"info": 0, "ok": 1, "warn": 2, "fail": 3}
LIMIT_CHECKS = (
    ("usl", lambda value, limit: value > limit, "fail", "above the upper limit"),
    ("lsl", lambda value, limit: value < limit, "fail", "below the lower limit"),
    ("warn_high", lambda value, limit: value > limit, "warn", "above the warning limit"),
    ("warn_low", lambda value, limit: value < limit, "warn", "below the warning limit"),
)


class NumberType(ItemType):
    """A measurement: fails outside lsl/usl, warns outside warn_low/warn_high; samples: N makes a series."""

    name = "number"

    def fields(self, item: Item) -> tuple[str, ...]:
        """value, or sample_0 … sample_<N-1> for a series."""
        samples = item.get("samples", 1)
        return tuple(f"sample_{index}" for index in range(samples)) if samples > 1 else ("value",)

    def read(self, item: Item, form: Form, decimal_comma: bool) -> Any:
        """A float, or a list of floats (None for a blank reading) for a series."""
        if item.get("samples", 1) > 1:
            readings = []
            for index in range(item["samples"]):
                raw = first(form, f"sample_{index}")
                readings.append(None if raw is None else
                                parse_number(item, raw, f"Reading {index + 1}: ", decimal_comma))
            return None if all(r is None for r in readings) else readings
        raw = first(form, "value")
        return None if raw is None else parse_number(item, raw, "", decimal_comma)

    def judge(self, item: Item, value: Any, answers: Answers) -> Verdict:
        """A reading or a series against the limits."""
        return _series(item, value) if isinstance(value, list) else _reading(item, value)

    def can_fail(self, item: Item) -> bool:
        """Only a number with a spec limit can fail."""
        return item.get("lsl") is not None or item.get("usl") is not None

    def why_cannot_fail(self, item: Item) -> str:
        """No limits, no failure."""
        return "this number has neither lsl nor usl, so no reading can fail"

    def is_complete(self, item: Item, value: Any) -> bool:
        """A series is complete only with every reading entered."""
        if isinstance(value, list):
            return len(value) == item.get("samples", 1) and all(v is not None for v in value)
        return value is not None

    def answer_text(self, item: Item, value: Any) -> str:
        """'171.0 bar' or '50.1, 56.2 N·m'."""
        if isinstance(value, list):
            return ", ".join("—" if v is None else format_number(dict(item, unit=None), v) for v in value) \
                + (f" {item['unit']}" if item.get("unit") else "")
        return format_number(item, value)

    def failure_text(self, item: Item, value: Any, answers: Answers) -> str:
        """'Torque 42.0 N·m, spec 45–55 N·m', naming each failing reading of a series."""
        if isinstance(value, list):
            readings = [f"reading {n}: {format_number(item, v)}" for n, v in enumerate(value, start=1)
                        if v is not None and limit_state(item, v)[0] == "fail"]
            return f"{item['label']} {', '.join(readings)}, spec {spec_text(item)}"
        return f"{item['label']} {format_number(item, value)}, spec {spec_text(item)}"

    def spec(self, item: Item) -> str:
        """The spec limits in words."""
        return spec_text(item)

    def comparable(self, item: Item) -> bool:
        """A series cannot be compared with one value."""
        return item.get("samples", 1) <= 1

    def accepts(self, item: Item):
        """Any number."""
        return (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)), "a number"


def parse_number(item: Item, raw: str, prefix: str, decimal_comma: bool = False) -> float:
    """A typed number in ASCII digits with at most one decimal separator (a point, or a comma where the site writes
    decimals so) and no more decimal places than the item's decimals; a typographic minus is taken too."""
    text = raw.replace("\u2212", "-").replace(" ", "")
    if "," in text:
        # A site abroad may write 150,5; elsewhere a comma may be a thousands separator (1,500), so it is refused.
        if not decimal_comma:
            raise AnswerError(f"{prefix}Enter a number with a decimal point, such as {_example(item)}")
        text = text.replace(",", ".", 1) if "." not in text else text
    match = NUMBER_RE.fullmatch(text)
    if not match or not math.isfinite(float(text)):
        raise AnswerError(f"{prefix}Enter a number such as {_example(item)}")
    decimals, places = item.get("decimals", 1), match.group(2) or match.group(3) or ""
    if len(places) > decimals:
        # Stored as typed, a reading must not claim more precision than the item measures to.
        rounded = f"{float(text):.{decimals}f}"
        if decimals == 0:
            raise AnswerError(f"{prefix}A whole number, e.g. {rounded}")
        raise AnswerError(f"{prefix}At most {decimals} decimal place{'s' if decimals > 1 else ''}, e.g. {rounded}")
    return float(text)


def _example(item: Item) -> str:
    lsl, usl, nominal = item.get("lsl"), item.get("usl"), item.get("nominal")
    if nominal is None and lsl is not None and usl is not None:
        nominal = (lsl + usl) / 2
    example = next((v for v in (nominal, lsl, usl) if v is not None), 150.5)
    return f"{example:.{max(item.get('decimals', 1), 1)}f}"


def limit_state(item: Item, value: float) -> tuple[str, str]:
    """(state, words) of one reading: the first limit breached, else ok (or info without limits)."""
    for key, breached, state, words in LIMIT_CHECKS:
        limit = item.get(key)
        if limit is not None and breached(value, limit):
            return state, f"{words} {with_unit(item, plain(limit))}"
    judged = any(item.get(key) is not None for key, *_ in LIMIT_CHECKS)
    return ("ok" if judged else "info"), ""


def _reading(item: Item, value: float) -> Verdict:
    state, reason = limit_state(item, value)
    shown = format_number(item, value)
    if state in ("fail", "warn"):
        return Verdict(state, f"{shown} is {reason}")
    return Verdict(state, f"{shown}, within {spec_text(item)}" if spec_text(item) else shown)


def _series(item: Item, values: list[float | None]) -> Verdict:
    readings = tuple(ReadingVerdict(v, "unanswered" if v is None else limit_state(item, v)[0]) for v in values)
    entered = [v for v in values if v is not None]
    if not entered:
        return Verdict("unanswered", "Not answered", readings)
    states = [r.state for r in readings if r.value is not None]
    state = max(states, key=SEVERITY.__getitem__)
    mean = round(sum(entered) / len(entered), item.get("decimals", 1))
    low, high = format_number(item, min(entered)), format_number(item, max(entered))
    parts = [f"mean {format_number(item, mean)}, min {low}, max {high}"]
    out, warned = states.count("fail"), states.count("warn")
    if out:
        parts.append(f"{out} of {len(entered)} outside {spec_text(item)}")
    if warned:
        parts.append(f"{warned} in the warning band")
    head = f"{len(entered)} readings"
    if len(entered) < len(values):
        head = f"{len(entered)} of {len(values)} readings entered (incomplete)"
    return Verdict(state, f"{head}: " + "; ".join(parts), readings)


NUMBER = NumberType()
