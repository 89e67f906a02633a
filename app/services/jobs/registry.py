"""The job kinds: a name, the handler that runs it, and how often it may be tried."""
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Callable

# The modules that register kinds; the worker imports them all before it takes a job, so a job queued by
# any part of the app finds its handler. A later feature adds its module here.
KIND_MODULES = ("app.services.jobs.record_pdf",)

Handler = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class JobKind:
    """A registered kind: its handler gets the job's payload (a dict) inside an app context."""

    name: str
    handler: Handler
    max_attempts: int = 5


_KINDS: dict[str, JobKind] = {}


class UnknownJobKind(LookupError):
    """A job names a kind no module registered (a typo, or a row left by an older release)."""


def job_kind(name: str, max_attempts: int = 5) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of jobs of this kind."""
    def register(handler: Handler) -> Handler:
        existing = _KINDS.get(name)
        if existing is not None and existing.handler is not handler:
            raise ValueError(f"job kind {name!r} is registered twice")
        _KINDS[name] = JobKind(name, handler, max_attempts)
        return handler
    return register


def kind(name: str) -> JobKind:
    """The registered kind called name."""
    try:
        return _KINDS[name]
    except KeyError:
        raise UnknownJobKind(f"no handler is registered for job kind {name!r} "
                             f"(known: {', '.join(sorted(_KINDS)) or 'none'})") from None


def load_kinds() -> list[str]:
    """Import every module that registers kinds; the names registered."""
    for module in KIND_MODULES:
        import_module(module)
    return sorted(_KINDS)
