"""Domain errors: a broken rule with field-level reasons, raised by services, mapped to pages by app/errors.py."""
class DomainError(Exception):
    """A rule of the domain was broken; carries a status and field-level reasons."""

    status = 422

    def __init__(self, message: str, errors: dict | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        if status is not None:
            self.status = status
