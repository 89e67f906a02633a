"""marshmallow schemas for a checklist definition: one schema per item type."""
import re
from typing import Any

from marshmallow import ValidationError, fields, post_load, validates_schema

from app.definitions.conditions import Condition
from app.definitions.fields import (
    AppliesTo,
    Boolean,
    ChoiceValue,
    Expect,
    Integer,
    ListOf,
    Number,
    Pattern,
    Schedule,
    Strict,
    StrictSchema,
    Text,
    absent_messages,
    did_you_mean,
    show,
)
from app.definitions.rules import coerce_condition_values, definition_rules, nest, repeated
from app.definitions.vocabulary import (
    DEFAULT_ON_FAIL_PROMPT,
    ITEM_TYPES,
    KINDS,
    ON_FAIL_REQUIRE,
    can_fail,
    default_on_fail,
)
from app.items import article, item_type
from app.roles import ROLES

IDENTIFIER = r"[a-z][a-z0-9_]{0,63}"
SLUG = r"[a-z0-9][a-z0-9-]{0,63}"
IDENTIFIER_HELP = "an identifier such as hydraulic_pressure (a-z, 0-9 and _, starting with a letter)"
FAILING_TYPES_HELP = (
    "on_fail only on a check, a number with lsl/usl, a choice/multi with a failing choice or a scan with expect"
)


def _optional(field: type[fields.Field], **kwargs: Any) -> fields.Field:
    return field(load_default=None, allow_none=True, **kwargs)


def _nested(schema: type[StrictSchema], **kwargs: Any) -> fields.Nested:
    return fields.Nested(schema, error_messages=absent_messages(schema.shape), **kwargs)


class OnFailSchema(StrictSchema):
    """What to ask for when an answer fails."""

    shape = "{prompt: text, require: [reason, action, supervisor_decision]}"
    prompt = Text(load_default=DEFAULT_ON_FAIL_PROMPT, expected="the question asked when the answer fails")
    require = ListOf(
        Text(choices=ON_FAIL_REQUIRE),
        load_default=lambda: ["reason"],
        expected="a list drawn from: " + ", ".join(ON_FAIL_REQUIRE),
    )

    @validates_schema(skip_on_field_errors=True)
    def _require_once(self, data: dict[str, Any], **kwargs: Any) -> None:
        words = data.get("require") or []
        if len(set(words)) != len(words):
            message = f"repeats a word (got {', '.join(words)}); expected each of {', '.join(ON_FAIL_REQUIRE)} at most once"
            raise ValidationError({"require": [message]})

    @post_load
    def _canonical_order(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        # One spelling per meaning, so reordering the list does not change the form's hash.
        data["require"] = [word for word in ON_FAIL_REQUIRE if word in data["require"]]
        return data


class ItemSchema(StrictSchema):
    """Keys every item type shares."""

    shape = "an item with type, name and label, e.g. {type: check, name: guard_ok, label: Guards in place}"
    type = Text(required=True, choices=ITEM_TYPES)
    name = Text(required=True, pattern=IDENTIFIER, expected=IDENTIFIER_HELP)
    label = Text(required=True, max_length=500, expected="the words the operator reads")
    hint = _optional(Text, expected="optional help text")
    show_if = _optional(Condition)
    on_fail = _nested(OnFailSchema, load_default=None, allow_none=True)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _on_fail_allowed(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        if isinstance(original, dict) and original.get("on_fail") is not None and not can_fail(original):
            message = f"not allowed here: {_why_cannot_fail(original)}; expected {FAILING_TYPES_HELP}"
            raise ValidationError({"on_fail": [message]})

    @post_load
    def _fill_defaults(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data["on_fail"] is None and can_fail(data):
            data["on_fail"] = default_on_fail()
        if "required" not in data:
            # Only instructions lack the key: they take no answer, so they are never required.
            data["required"] = False
        return data


def _why_cannot_fail(item: dict[str, Any]) -> str:
    kind = item.get("type")
    return item_type(kind).why_cannot_fail(item) if kind in ITEM_TYPES else f"{article(str(kind))} {kind} item cannot fail"


class AnswerSchema(ItemSchema):
    """An item that takes an answer and may be required."""

    required = Boolean(load_default=True)


class CheckSchema(AnswerSchema):
    """Pass / fail / n.a."""

    allow_na = Boolean(load_default=True)


class NumberSchema(AnswerSchema):
    """A measurement with optional spec limits, warning band and a series of samples."""

    unit = _optional(Text, max_length=20, expected="a unit such as bar, mm or N·m")
    nominal = _optional(Number)
    lsl = _optional(Number, expected="the lower spec limit, a number such as 140")
    usl = _optional(Number, expected="the upper spec limit, a number such as 160")
    warn_low = _optional(Number)
    warn_high = _optional(Number)
    decimals = Integer(minimum=0, maximum=6, load_default=1)
    samples = Integer(minimum=1, maximum=20, load_default=1)

    @validates_schema(skip_on_field_errors=False)
    def _limits_agree(self, data: dict[str, Any], **kwargs: Any) -> None:
        lsl, usl = data.get("lsl"), data.get("usl")
        if lsl is not None and usl is not None and lsl >= usl:
            # Everything else is measured against the limits, so stop at the first contradiction.
            message = f"must be less than usl (got lsl={show(lsl)}, usl={show(usl)}); expected lsl < usl"
            raise ValidationError({"lsl": [message]})
        errors: dict[str, list[str]] = {}
        limits = f"lsl={show(lsl)}, usl={show(usl)}"
        for key in ("nominal", "warn_low", "warn_high"):
            value = data.get(key)
            if value is not None and ((lsl is not None and value < lsl) or (usl is not None and value > usl)):
                got = f"{key}={show(value)}, {limits}"
                errors[key] = [f"lies outside the spec limits (got {got}); expected lsl <= {key} <= usl"]
        low, high = data.get("warn_low"), data.get("warn_high")
        if low is not None and high is not None and low >= high:
            got = f"warn_low={show(low)}, warn_high={show(high)}"
            errors.setdefault("warn_low", []).append(f"must be less than warn_high (got {got}); expected warn_low < warn_high")
        if errors:
            raise ValidationError(errors)


class ChoiceOptionSchema(StrictSchema):
    """One option of a choice or multi item."""

    shape = "a choice such as {value: ok, label: OK} or {value: cracked, label: Cracked, fails: true}"
    value = ChoiceValue(required=True)
    label = Text(required=True, max_length=200, expected="the words shown for this choice")
    fails = Boolean(load_default=False)


class ChoiceSchema(AnswerSchema):
    """Pick one option; options marked `fails` make the answer fail."""

    choices = ListOf(
        _nested(ChoiceOptionSchema),
        required=True,
        min_length=2,
        expected="a list of choices such as [{value: ok, label: OK}, {value: cracked, label: Cracked, fails: true}]",
    )

    @validates_schema(skip_on_field_errors=False)
    def _values_unique(self, data: dict[str, Any], **kwargs: Any) -> None:
        choices = [choice if isinstance(choice, dict) else {} for choice in data.get("choices") or []]
        found = repeated([(("choices", i, "value"), c.get("value")) for i, c in enumerate(choices)], "each value once")
        if found:
            raise ValidationError(nest(found))


class MultiSchema(ChoiceSchema):
    """Pick any number of options."""


class TextSchema(AnswerSchema):
    """Free text."""

    multiline = Boolean(load_default=False)
    max_length = Integer(minimum=1, maximum=100_000, load_default=2000)


class DateSchema(AnswerSchema):
    """A calendar date."""


class TimeSchema(AnswerSchema):
    """A time of day."""


class PhotoSchema(AnswerSchema):
    """One or more photos, stored as attachments."""

    max_photos = Integer(minimum=1, maximum=10, load_default=1)


class AcknowledgeSchema(AnswerSchema):
    """Read-and-confirm: the label is the statement confirmed."""


class InstructionSchema(ItemSchema):
    """Text to read; takes no answer, so it is never required."""


class ScanSchema(AnswerSchema):
    """A code scanned with the camera or typed: pattern refuses a malformed code, expect fails a wrong one."""

    pattern = _optional(Pattern)
    pattern_hint = _optional(Text, max_length=200, expected="an example code, such as BR-214")
    expect = _optional(Expect)

    @validates_schema(skip_on_field_errors=True)
    def _hint_matches(self, data: dict[str, Any], **kwargs: Any) -> None:
        pattern, hint = data.get("pattern"), data.get("pattern_hint")
        if pattern and hint and not re.fullmatch(pattern, hint):
            message = f"does not match the pattern (got {show(hint)}); expected an example of {pattern}"
            raise ValidationError({"pattern_hint": [message]})


ITEM_SCHEMAS: dict[str, type[ItemSchema]] = {
    "check": CheckSchema,
    "number": NumberSchema,
    "choice": ChoiceSchema,
    "multi": MultiSchema,
    "text": TextSchema,
    "date": DateSchema,
    "time": TimeSchema,
    "photo": PhotoSchema,
    "acknowledge": AcknowledgeSchema,
    "instruction": InstructionSchema,
    "scan": ScanSchema,
}


class ItemField(Strict):
    """Dispatch an item to the schema for its `type`."""

    expected = ItemSchema.shape

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, Any]:
        # valid_data={} keeps list indices stable for the definition-wide rules.
        if not isinstance(value, dict):
            raise ValidationError([f"must be a mapping (got {show(value)}); expected {self.expected}"], valid_data={})
        kind = value.get("type")
        schema = ITEM_SCHEMAS.get(kind) if isinstance(kind, str) else None
        if schema is None:
            allowed = ", ".join(ITEM_TYPES)
            if "type" not in value:
                message = f"missing; expected one of: {allowed}"
            else:
                message = f"unknown item type (got {show(kind)}); expected one of: {allowed}{did_you_mean(kind, ITEM_TYPES)}"
            raise ValidationError({"type": [message]}, valid_data={})
        try:
            return schema().load(value)
        except ValidationError as error:
            raise ValidationError(error.messages, valid_data=error.valid_data or {}) from None


class SectionSchema(StrictSchema):
    """A titled group of items."""

    shape = "a section such as {name: hydraulics, title: Hydraulics, items: [...]}"
    name = Text(required=True, pattern=IDENTIFIER, expected=IDENTIFIER_HELP)
    title = Text(required=True, max_length=200, expected="the section heading")
    items = ListOf(ItemField(), required=True, min_length=1, expected="a list of items")


class SignOffSchema(StrictSchema):
    """One required signature: who signs, and what the signature means."""

    shape = "{role: inspector, meaning: Reviewed}"
    role = Text(required=True, choices=ROLES)
    meaning = Text(required=True, max_length=100, expected="what the signature means, such as Reviewed")


class DefinitionSchema(StrictSchema):
    """A whole checklist definition file."""

    shape = "a mapping with id, version, title and sections"
    id = Text(required=True, pattern=SLUG, expected="a slug such as press-start-of-shift (a-z, 0-9 and -)")
    version = Integer(minimum=1, required=True)
    title = Text(required=True, max_length=200, expected="the form's title")
    kind = Text(choices=KINDS, load_default="checklist")
    description = _optional(Text, expected="optional text")
    applies_to = AppliesTo(load_default=lambda: {"lines": [], "stations": []})
    schedule = Schedule(load_default=lambda: {"kind": "on_demand"})
    sign_off = ListOf(
        _nested(SignOffSchema), load_default=list, expected="a list such as [{role: inspector, meaning: Reviewed}]"
    )
    sections = ListOf(_nested(SectionSchema), required=True, min_length=1, expected="a list of sections")

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _definition_rules(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        problems = definition_rules(data, original)
        if problems:
            raise ValidationError(nest(problems))

    @post_load
    def _coerce(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        coerce_condition_values(data)
        return data
