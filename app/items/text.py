"""text, date and time: typed words, a calendar date, a time of day."""
import re
from datetime import date

from app.items.base import AnswerError, Item, ItemType

# ASCII digits only: \d alone would take Arabic-Indic and other scripts' digits too.
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
TIME_RE = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)(:[0-5]\d(\.\d+)?)?", re.ASCII)
# show_if values are written in the definition, so they must be spelt exactly as stored.
STORED_TIME_RE = re.compile(r"([01]\d|2[0-3]):[0-5]\d", re.ASCII)


class TextType(ItemType):
    """Free text, one line unless multiline, at most max_length characters."""

    name = "text"
    gives_text = True

    def parse_value(self, item: Item, raw: str) -> str:
        """The text, with line breaks folded unless multiline."""
        text = raw.replace("\r\n", "\n")
        if not item.get("multiline"):
            text = " ".join(text.split("\n"))
        limit = item.get("max_length", 2000)
        if len(text) > limit:
            raise AnswerError(f"Use at most {limit} characters (you entered {len(text)})")
        return text


class DateType(ItemType):
    """A calendar date, stored as YYYY-MM-DD."""

    name = "date"

    def parse_value(self, item: Item, raw: str) -> str:
        """An ISO date."""
        try:
            if not DATE_RE.fullmatch(raw):
                raise ValueError(raw)
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise AnswerError("Enter a date as YYYY-MM-DD, such as 2024-03-18") from None

    def accepts(self, item: Item):
        """An ISO date in quotes."""
        return _is_iso_date, "a date in quotes such as '2024-03-18'"


class TimeType(ItemType):
    """A time of day, stored as HH:MM."""

    name = "time"

    def parse_value(self, item: Item, raw: str) -> str:
        """HH:MM (seconds dropped)."""
        match = TIME_RE.fullmatch(raw)
        if not match:
            raise AnswerError("Enter a time as HH:MM, such as 07:30")
        return f"{int(match.group(1)):02d}:{match.group(2)}"

    def accepts(self, item: Item):
        """HH:MM in quotes."""
        return (lambda v: isinstance(v, str) and bool(STORED_TIME_RE.fullmatch(v))), "a time in quotes such as '07:30'"


def _is_iso_date(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


TEXT, DATE, TIME = TextType(), DateType(), TimeType()
