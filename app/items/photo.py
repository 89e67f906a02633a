"""photo: one or more photos, stored as attachments (sha256 list), never posted as a value."""
from typing import Any

from app.items.base import AnswerError, Answers, Form, Item, NoInputType, Verdict


class PhotoType(NoInputType):
    """Photos arrive as uploaded files; a stored photo is what the answer is, so it shows as done."""

    name = "photo"
    takes_photos = True

    def read(self, item: Item, form: Form, decimal_comma: bool) -> Any:
        """Photos are uploaded, each on its own; a post of the answer itself is refused."""
        raise AnswerError("Photos are added with the photo button, not posted as an answer")

    def judge(self, item: Item, value: Any, answers: Answers) -> Verdict:
        """'2 photos'."""
        count = len(value) if isinstance(value, list) else 1
        return Verdict("info", f"{count} photo{'s' if count != 1 else ''}")

    def comparable(self, item: Item) -> bool:
        """A photo can only be tested for answered: true."""
        return False


PHOTO = PhotoType()
