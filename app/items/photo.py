"""photo: one or more photos, stored as attachments (sha256 list), never posted as a value."""
from typing import Any

from app.items.base import Answers, Form, Item, ItemType, Verdict


class PhotoType(ItemType):
    """Photos arrive as uploaded files; a stored photo is what the answer is, so it shows as done."""

    name = "photo"
    takes_input = False
    correctable = False
    takes_photos = True

    def parse(self, item: Item, form: Form) -> Any:
        """Refused: photos go through the upload, not a posted value."""
        raise ValueError(f"a {self.name} item takes no posted value; photos are stored as attachments")

    def judge(self, item: Item, value: Any, answers: Answers) -> Verdict:
        """'2 photos'."""
        count = len(value) if isinstance(value, list) else 1
        return Verdict("info", f"{count} photo{'s' if count != 1 else ''}")

    def comparable(self, item: Item) -> bool:
        """A photo can only be tested for answered: true."""
        return False


PHOTO = PhotoType()
