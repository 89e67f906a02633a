"""Answers against a normalised item: parse posted fields, judge values, decide visibility."""
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.definitions.conditions import condition_holds, dependents, visible_names
from app.definitions.vocabulary import can_fail, iter_items

# Visibility and walking live beside show_if's parser; they are re-exported as this service's API.
__all__ = [
    "AnswerError", "ReadingVerdict", "Verdict", "can_fail", "dependents", "evaluate", "format_number",
    "is_answered", "is_visible", "iter_items", "parse_answer", "spec_text", "visible_names",
]

NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
TIME_RE = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)(:[0-5]\d(\.\d+)?)?")
# The worst reading decides the state of a series.
SEVERITY = {"info": 0, "ok": 1, "warn": 2, "fail": 3}
CHECK_WORDS = {"pass": ("ok", "Pass"), "fail": ("fail", "Fail"), "na": ("na", "Not applicable")}


class AnswerError(ValueError):
    """A posted answer that cannot be stored; the message tells the person what to enter."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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


def parse_answer(item: Mapping[str, Any], form: Mapping[str, list[str]]) -> Any:
    """Turn posted fields into the JSON value stored for item; None clears the answer."""
    kind = item["type"]
    if kind in ("photo", "instruction"):
        raise ValueError(f"a {kind} item takes no posted value; photos are stored as attachments")
    if kind == "number" and item.get("samples", 1) > 1:
        readings = []
        for index in range(item["samples"]):
            raw = _first(form, f"sample_{index}")
            readings.append(None if raw is None else _parse_number(item, raw, f"Reading {index + 1}: "))
        return None if all(r is None for r in readings) else readings
    if kind == "multi":
        return _parse_multi(item, form)
    raw = _first(form, "value")
    if raw is None:
        return None
    if kind == "number":
        return _parse_number(item, raw, "")
    if kind == "check":
        return _parse_check(item, raw)
    if kind == "choice":
        values = [choice["value"] for choice in item["choices"]]
        if raw not in values:
            raise AnswerError("Choose one of: " + ", ".join(values))
        return raw
    if kind == "text":
        return _parse_text(item, raw)
    if kind == "date":
        return _parse_date(raw)
    if kind == "time":
        match = TIME_RE.fullmatch(raw)
        if not match:
            raise AnswerError("Enter a time as HH:MM, such as 07:30")
        return f"{int(match.group(1)):02d}:{match.group(2)}"
    if kind == "acknowledge":
        # "on" is what a checkbox without a value attribute posts.
        if raw.lower() not in ("yes", "on"):
            raise AnswerError("Tick the box to confirm the statement")
        return True
    raise ValueError(f"unknown item type {kind!r}")


def _first(form: Mapping[str, Any], key: str) -> str | None:
    values = form.get(key) or []
    if isinstance(values, str):
        values = [values]
    text = values[0].strip() if values else ""
    return text or None


def _parse_number(item: Mapping[str, Any], raw: str, prefix: str) -> float:
    text = raw.replace("\u2212", "-").replace(" ", "")
    # Tablets set to a European locale type a decimal comma; a lone comma can mean nothing else.
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    if not NUMBER_RE.fullmatch(text) or not math.isfinite(float(text)):
        raise AnswerError(f"{prefix}Enter a number such as {_example(item)}")
    return float(text)


def _example(item: Mapping[str, Any]) -> str:
    lsl, usl, nominal = item.get("lsl"), item.get("usl"), item.get("nominal")
    if nominal is None and lsl is not None and usl is not None:
        nominal = (lsl + usl) / 2
    example = next((v for v in (nominal, lsl, usl) if v is not None), 150.5)
    return f"{example:.{max(item.get('decimals', 1), 1)}f}"


def _parse_check(item: Mapping[str, Any], raw: str) -> str:
    answer = raw.lower()
    if answer == "na" and not item.get("allow_na", True):
        raise AnswerError("N/A is not allowed for this check: choose pass or fail")
    if answer not in CHECK_WORDS:
        raise AnswerError("Choose one of: pass, fail" + (", na" if item.get("allow_na", True) else ""))
    return answer


def _parse_multi(item: Mapping[str, Any], form: Mapping[str, Any]) -> list[str] | None:
    posted = form.get("value") or []
    chosen = {value.strip() for value in ([posted] if isinstance(posted, str) else posted) if value.strip()}
    values = [choice["value"] for choice in item["choices"]]
    unknown = sorted(chosen - set(values))
    if unknown:
        raise AnswerError(f"Unknown choice {unknown[0]!r}. Choose any of: " + ", ".join(values))
    return sorted(chosen) or None


def _parse_text(item: Mapping[str, Any], raw: str) -> str:
    text = raw.replace("\r\n", "\n")
    if not item.get("multiline"):
        text = " ".join(text.split("\n"))
    limit = item.get("max_length", 2000)
    if len(text) > limit:
        raise AnswerError(f"Use at most {limit} characters (you entered {len(text)})")
    return text


def _parse_date(raw: str) -> str:
    try:
        if not DATE_RE.fullmatch(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw).isoformat()
    except ValueError:
        raise AnswerError("Enter a date as YYYY-MM-DD, such as 2024-03-18") from None


def format_number(item: Mapping[str, Any], value: float) -> str:
    """A reading with the item's decimals and unit, such as "150.0 bar"."""
    text = f"{value:.{item.get('decimals', 1)}f}"
    # Never round away what was entered: 160.04 shown as "160.0" would hide a breach of 160.
    if float(text) != value:
        text = _plain(value)
    return _with_unit(item, text)


def spec_text(item: Mapping[str, Any]) -> str:
    """The spec limits in words, such as "140–160 bar", "≥ 20 %" or "" when there are none."""
    lsl, usl = item.get("lsl"), item.get("usl")
    if lsl is not None and usl is not None:
        return _with_unit(item, f"{_plain(lsl)}–{_plain(usl)}")
    if lsl is not None:
        return _with_unit(item, f"≥ {_plain(lsl)}")
    if usl is not None:
        return _with_unit(item, f"≤ {_plain(usl)}")
    return ""


def _plain(number: float) -> str:
    return f"{number:.6f}".rstrip("0").rstrip(".") if isinstance(number, float) else str(number)


def _with_unit(item: Mapping[str, Any], text: str) -> str:
    return f"{text} {item['unit']}" if item.get("unit") else text


def _judge(item: Mapping[str, Any], value: float) -> tuple[str, str]:
    checks = (
        ("usl", lambda limit: value > limit, "fail", "above the upper limit"),
        ("lsl", lambda limit: value < limit, "fail", "below the lower limit"),
        ("warn_high", lambda limit: value > limit, "warn", "above the warning limit"),
        ("warn_low", lambda limit: value < limit, "warn", "below the warning limit"),
    )
    for key, breached, state, words in checks:
        limit = item.get(key)
        if limit is not None and breached(limit):
            return state, f"{words} {_with_unit(item, _plain(limit))}"
    judged = any(item.get(key) is not None for key, *_ in checks)
    return ("ok" if judged else "info"), ""


def evaluate(item: Mapping[str, Any], value: Any) -> Verdict:
    """Judge a stored answer: fail outside the spec limits or on a failing choice, and so on."""
    kind = item["type"]
    if kind == "instruction":
        return Verdict("info", "")
    if value is None or value == "" or value == []:
        return UNANSWERED
    if kind == "number":
        return _evaluate_series(item, value) if isinstance(value, list) else _evaluate_reading(item, value)
    if kind == "check":
        if value not in CHECK_WORDS:
            raise ValueError(f"not a check answer: {value!r}")
        return Verdict(*CHECK_WORDS[value])
    if kind in ("choice", "multi"):
        return _evaluate_choices(item, value if isinstance(value, list) else [value])
    if kind == "acknowledge":
        return Verdict("ok", "Confirmed")
    if kind == "photo":
        count = len(value) if isinstance(value, list) else 1
        return Verdict("info", f"{count} photo{'s' if count != 1 else ''}")
    text = str(value)
    return Verdict("info", text if len(text) <= 80 else text[:77] + "...")


def _evaluate_reading(item: Mapping[str, Any], value: float) -> Verdict:
    state, reason = _judge(item, value)
    shown = format_number(item, value)
    if state in ("fail", "warn"):
        return Verdict(state, f"{shown} is {reason}")
    return Verdict(state, f"{shown}, within {spec_text(item)}" if spec_text(item) else shown)


def _evaluate_series(item: Mapping[str, Any], values: list[float | None]) -> Verdict:
    readings = tuple(ReadingVerdict(v, "unanswered" if v is None else _judge(item, v)[0]) for v in values)
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


def _evaluate_choices(item: Mapping[str, Any], chosen: list[str]) -> Verdict:
    options = {choice["value"]: choice for choice in item["choices"]}
    missing = [value for value in chosen if value not in options]
    if missing:
        raise ValueError(f"not a choice of {item['name']}: {missing[0]!r}")
    labels = [options[value]["label"] for value in chosen]
    failing = [options[value]["label"] for value in chosen if options[value]["fails"]]
    if failing:
        return Verdict("fail", ", ".join(labels) + f" (failing: {', '.join(failing)})")
    return Verdict("ok" if can_fail(item) else "info", ", ".join(labels))


def is_answered(item: Mapping[str, Any], value: Any) -> bool:
    """True when value is a complete answer; a half-entered series is not."""
    if item["type"] == "instruction" or value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list):
        if item["type"] == "number":
            return len(value) == item.get("samples", 1) and all(v is not None for v in value)
        return bool(value)
    return True


def is_visible(
    item: Mapping[str, Any], answers: Mapping[str, Any], definition: Mapping[str, Any] | None = None
) -> bool:
    """Apply show_if; with the definition, an item depending on a hidden item is hidden too."""
    if definition is not None:
        return item["name"] in visible_names(definition, answers)
    return not item.get("show_if") or condition_holds(item["show_if"], answers)
