"""marshmallow fields that say what they got and what they expected, in YAML's words."""
import difflib
import math
import re
from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields

from app.definitions.vocabulary import DAYS, SCHEDULE_WORDS

TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
CHOICE_VALUE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
DAY_NAMES = {day: day for day in DAYS} | {
    name: name[:3] for name in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
}


def show(value: Any) -> str:
    """Say briefly, in YAML terms, what a raw value was."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"'{text}'"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if isinstance(value, dict):
        return "a mapping"
    return f"{type(value).__name__} {value}"


def did_you_mean(word: Any, options: Any) -> str:
    """A ' (did you mean 'x'?)' suffix when word is a near miss of one of options."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, [str(option) for option in options], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_key_message(key: Any, known: list[str]) -> str:
    """Message for a key the schema does not define, listing the keys it does."""
    return f"unknown key {show(key)}; expected one of: {', '.join(known)}{did_you_mean(key, known)}"


def absent_messages(expected: str) -> dict[str, str]:
    """marshmallow's messages for a missing key and for an empty value, saying what belongs there."""
    # marshmallow runs str.format on these, and examples such as {role: inspector} hold braces.
    escaped = expected.replace("{", "{{").replace("}", "}}")
    return {"required": f"missing; expected {escaped}", "null": f"is empty; expected {escaped}"}


class StrictSchema(Schema):
    """A schema that refuses unknown keys and explains non-mappings in plain words."""

    class Meta:
        unknown = RAISE

    shape = "a mapping of keys to values"

    def handle_error(self, error: ValidationError, data: Any, *, many: bool, **kwargs: Any) -> None:
        """Rewrite marshmallow's terse unknown-key and input-type messages."""
        if not isinstance(data, Mapping):
            messages: Any = {"_schema": [f"must be a mapping (got {show(data)}); expected {self.shape}"]}
        elif isinstance(error.messages, dict):
            known = sorted(self.load_fields)
            messages = {}
            for key, value in error.messages.items():
                if key != "_schema" and key not in self.load_fields:
                    messages[str(key)] = [unknown_key_message(key, known)]
                else:
                    messages[key] = value
        else:
            return
        raise ValidationError(messages, data=data, valid_data=error.valid_data)


class Strict(fields.Field):
    """Base field: every message names what arrived and what was expected."""

    expected = "a value"

    def __init__(self, *, expected: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if expected:
            self.expected = expected
        self.error_messages = {**self.error_messages, **absent_messages(self.expected)}

    def fail(self, what: str, value: Any) -> ValidationError:
        """Build the error for a value that is present but wrong."""
        return ValidationError(f"{what} (got {show(value)}); expected {self.expected}")


class Text(Strict):
    """Non-blank text, optionally matching a pattern or one of a fixed set of words."""

    expected = "text"

    def __init__(
        self, *, pattern: str | None = None, choices: tuple[str, ...] = (), max_length: int = 0, **kwargs: Any
    ) -> None:
        if choices and "expected" not in kwargs:
            kwargs["expected"] = "one of: " + ", ".join(choices)
        super().__init__(**kwargs)
        self.pattern = re.compile(pattern) if pattern else None
        self.choices = choices
        self.max_length = max_length

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise self.fail("must be text", value)
        text = value.strip()
        if not text:
            raise self.fail("must not be blank", value)
        if self.choices and text not in self.choices:
            suggestion = did_you_mean(text, self.choices)
            raise ValidationError(f"{show(value)} is not allowed; expected {self.expected}{suggestion}")
        if self.pattern and not self.pattern.fullmatch(text):
            raise self.fail("has the wrong form", value)
        if self.max_length and len(text) > self.max_length:
            raise self.fail(f"is longer than {self.max_length} characters", value)
        return text


class Integer(Strict):
    """A whole number (not a boolean) within an inclusive range."""

    def __init__(self, *, minimum: int, maximum: int | None = None, **kwargs: Any) -> None:
        bound = f"from {minimum} to {maximum}" if maximum is not None else f"{minimum} or more"
        kwargs.setdefault("expected", f"a whole number {bound}")
        super().__init__(**kwargs)
        self.minimum, self.maximum = minimum, maximum

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail("must be a whole number", value)
        if value < self.minimum or (self.maximum is not None and value > self.maximum):
            raise self.fail("is out of range", value)
        return value


class Number(Strict):
    """A finite int or float, kept as YAML gave it so the output stays JSON-friendly."""

    expected = "a number such as 150 or 24.95"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail("must be a number", value)
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail("must be finite", value)
        return value


class Boolean(Strict):
    """true or false, nothing that merely looks like one."""

    expected = "true or false"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail("must be true or false", value)
        return value


class ListOf(fields.List):
    """A YAML list with a minimum length and a message that says what belongs in it."""

    def __init__(self, inner: fields.Field, *, expected: str, min_length: int = 0, **kwargs: Any) -> None:
        super().__init__(inner, **kwargs)
        self.expected, self.min_length = expected, min_length
        self.error_messages = {**self.error_messages, **absent_messages(expected)}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if not isinstance(value, list):
            raise ValidationError(f"must be a list (got {show(value)}); expected {self.expected}")
        result = super()._deserialize(value, attr, data, **kwargs)
        if len(result) < self.min_length:
            raise ValidationError(f"has {len(result)} entries; expected at least {self.min_length}: {self.expected}")
        return result


class Schedule(Strict):
    """per_shift | hourly | on_demand | {every: N} | {daily: "HH:MM"} | {weekly: "mon HH:MM"}."""

    expected = 'per_shift, hourly, on_demand, {every: 30}, {daily: "07:00"} or {weekly: "mon 07:00"}'

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, Any]:
        if isinstance(value, str):
            if value in SCHEDULE_WORDS:
                return {"kind": value}
            suggestion = did_you_mean(value, SCHEDULE_WORDS)
            raise ValidationError(f"{show(value)} is not a schedule; expected {self.expected}{suggestion}")
        if not isinstance(value, dict) or len(value) != 1:
            raise self.fail("must be one word or a mapping with exactly one key", value)
        (key, arg), = value.items()
        if key == "every":
            if isinstance(arg, bool) or not isinstance(arg, int) or not 1 <= arg <= 1440:
                message = f"must be whole minutes from 1 to 1440 (got {show(arg)}); expected e.g. every: 30"
                raise ValidationError({"every": [message]})
            return {"kind": "every", "minutes": arg}
        if key == "daily":
            return {"kind": "daily", "at": _clock(arg, "daily", '"07:00"')}
        if key == "weekly":
            day, _, at = arg.strip().partition(" ") if isinstance(arg, str) else ("", "", "")
            if day.lower() not in DAY_NAMES:
                days = ", ".join(DAYS)
                example = 'weekly: "mon 07:00"'
                message = f"needs a day and a time (got {show(arg)}); expected e.g. {example}, a day being {days}"
                raise ValidationError({"weekly": [message]})
            return {"kind": "weekly", "day": DAY_NAMES[day.lower()], "at": _clock(at.strip(), "weekly", '"mon 07:00"')}
        raise ValidationError({str(key): [unknown_key_message(key, ["daily", "every", "weekly"])]})


def _clock(value: Any, key: str, example: str) -> str:
    # YAML 1.1 reads an unquoted 07:00 as the base-60 number 420, hence the hint to quote.
    hint = " (YAML reads unquoted times as numbers: put it in quotes)" if isinstance(value, int) else ""
    match = TIME_RE.fullmatch(value) if isinstance(value, str) else None
    if not match:
        message = f"must be a 24-hour time (got {show(value)}){hint}; expected e.g. {key}: {example}"
        raise ValidationError({key: [message]})
    return f"{int(match.group(1)):02d}:{match.group(2)}"


class AppliesTo(Strict):
    """`all`, or {lines: [...], stations: [...]} with either list omitted."""

    expected = "all, or a mapping with lines and/or stations, e.g. {stations: [Press 1, Press 2]}"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, list[str]]:
        if value == "all":
            return {"lines": [], "stations": []}
        if not isinstance(value, dict):
            raise self.fail("must be all or a mapping", value)
        errors: dict[str, Any] = {}
        result: dict[str, list[str]] = {"lines": [], "stations": []}
        for key, names in value.items():
            if key not in result:
                errors[str(key)] = [unknown_key_message(key, ["lines", "stations"])]
            elif names is not None:
                result[key] = _names(names, key, errors)
        if errors:
            raise ValidationError(errors)
        return result


def _names(value: Any, key: str, errors: dict[str, Any]) -> list[str]:
    if not isinstance(value, list):
        errors[key] = [f"must be a list of names (got {show(value)}); expected e.g. {key}: [Press 1, Press 2]"]
        return []
    names: list[str] = []
    for index, name in enumerate(value):
        if not isinstance(name, str) or not name.strip():
            errors.setdefault(key, {})[index] = [f"must be a name (got {show(name)}); expected text such as Press 1"]
        elif name.strip() in names:
            errors.setdefault(key, {})[index] = [f"repeats {show(name)}; expected each name once"]
        else:
            names.append(name.strip())
    return names


class ChoiceValue(Strict):
    """A choice's stored code; a bare YAML number such as 3 becomes the text "3"."""

    expected = "a short code such as ok or cracked (letters, digits, _ . -)"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str) or not CHOICE_VALUE_RE.fullmatch(value.strip()):
            raise self.fail("must be a short code", value)
        return value.strip()


class Pattern(Text):
    """A regular expression, compiled at load so a broken one is reported with its line."""

    expected = "a regular expression the whole code must match, such as 'BR-2[0-9]{2}'"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            re.compile(text)
        except re.error as error:
            raise self.fail(f"is not a valid regular expression ({error})", value) from None
        return text


class Expect(Strict):
    """What a scanned code must equal: a fixed code, or an earlier item's answer; normalised to one mapping."""

    expected = "a fixed code in quotes such as 'PN-4411', or {item: part_number} naming an earlier item"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, str]:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str):
            if not value.strip():
                raise self.fail("must not be blank", value)
            return {"value": value.strip()}
        if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in ("item", "value"):
            raise self.fail("must be a code or a mapping with one key, item or value", value)
        key, target = next(iter(value.items()))
        if isinstance(target, int) and not isinstance(target, bool) and key == "value":
            target = str(target)
        if not isinstance(target, str) or not target.strip():
            raise ValidationError({key: [f"must be text (got {show(target)}); expected {self.expected}"]})
        return {key: target.strip()}
