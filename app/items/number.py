"""number: one reading or a series of samples, judged against spec limits and a warning band."""
import math
import re
from typing import Any

from app.items.base import (
    AnswerError, Answers, Form, Item, ItemType, ReadingVerdict, Verdict, first, format_number, plain, spec_text,
    with_unit,
)

NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
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

    def parse(self, item: Item, form: Form) -> Any:
        """A float, or a list of floats (None for a blank reading) for a series."""
        if item.get("samples", 1) > 1:
            readings = []
            for index in range(item["samples"]):
                raw = first(form, f"sample_{index}")
                readings.append(None if raw is None else parse_number(item, raw, f"Reading {index + 1}: "))
            return None if all(r is None for r in readings) else readings
        raw = first(form, "value")
        return None if raw is None else parse_number(item, raw, "")

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


def parse_number(item: Item, raw: str, prefix: str) -> float:
    """A typed number, accepting a decimal comma and a typographic minus."""
    text = raw.replace("\u2212", "-").replace(" ", "")
    # Tablets set to a European locale type a decimal comma; a lone comma can mean nothing else.
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    if not NUMBER_RE.fullmatch(text) or not math.isfinite(float(text)):
        raise AnswerError(f"{prefix}Enter a number such as {_example(item)}")
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
