"""One snapshot per request: every item of a form with its answer, visibility, verdict and deviations, computed once.

It is a service (not app/floor/) because five renderers share it: the fill page, the blank form, the review page,
the record page and the PDF. A draft (Submission + answers), a blank form and a frozen record document each come in
through one builder here and leave as the same list of frozen ItemViews, so templates never re-judge an answer,
re-apply show_if or query the database, and visibility is worked out once per request.
"""
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Iterable, Mapping, NamedTuple

from app.services.floor import evaluation
from app.services.floor.evaluation import Verdict
from app.services.records.record_document import Person

if TYPE_CHECKING:  # record_document reads drafts through the submissions service, which this module must not import
    from app.services.records.record_document import RecordDocument

NOT_CORRECTABLE = ("instruction", "photo")  # corrections.correct_record refuses these
ACTIVE = ("open", "acknowledged")


@dataclass(frozen=True)
class DeviationLink:
    """A deviation raised from an item: enough to link to it and to fill its cause in the why box."""

    id: int
    status: str
    source: str
    raised_at: datetime
    cause_category: str | None

    @property
    def active(self) -> bool:
        """Raised by the answer and still open or acknowledged: what the fill page's why box reports."""
        return self.source == "answer" and self.status in ACTIVE


@dataclass(frozen=True)
class ItemView:
    """One item as every renderer shows it: its definition (frozen unit and limits laid over), answer and verdict."""

    item: Mapping[str, Any]
    section: str
    visible: bool
    value: Any
    verdict: Verdict
    answered: bool
    reason: str | None = None
    action: str | None = None
    answered_by: Person | None = None
    answered_at: datetime | None = None
    deviations: tuple[DeviationLink, ...] = ()
    changed_in: int | None = None

    @property
    def name(self) -> str:
        """The item's name."""
        return self.item["name"]

    @property
    def type(self) -> str:
        """The item's type."""
        return self.item["type"]

    @property
    def label(self) -> str:
        """The item's label."""
        return self.item["label"]

    @property
    def required(self) -> bool:
        """True when submit asks for it (never for an instruction)."""
        return bool(self.item.get("required")) and self.type != "instruction"

    @property
    def state(self) -> str:
        """The verdict state as shown: "hidden" when not asked; a stored photo counts as done ("ok", not "info")."""
        if not self.visible:
            return "hidden"
        if self.type == "photo" and self.verdict.state == "info":
            return "ok"  # the stored verdict stays "info" (canonical JSON); only the words change
        return self.verdict.state

    @property
    def correctable(self) -> bool:
        """True when a correction after submit may change it."""
        return self.visible and self.type not in NOT_CORRECTABLE

    @property
    def active_deviation(self) -> DeviationLink | None:
        """The newest deviation its answer raised that is still open or acknowledged."""
        return next((d for d in reversed(self.deviations) if d.active), None)


@dataclass(frozen=True)
class SectionView:
    """A section of the form with its item views in form order."""

    name: str
    title: str
    items: tuple[ItemView, ...]


@dataclass(frozen=True)
class Snapshot:
    """The item views of one request, by section, and the visible answers that show_if reads."""

    sections: tuple[SectionView, ...]
    values: Mapping[str, Any]

    @property
    def items(self) -> list[ItemView]:
        """Every item view in form order."""
        return [view for section in self.sections for view in section.items]

    def get(self, name: str) -> ItemView | None:
        """The view of item `name` (None for a name the form does not have)."""
        return next((view for view in self.items if view.name == name), None)

    def labels(self) -> dict[str, str]:
        """Item name → label, for deviation lists."""
        return {view.name: view.label for view in self.items}


class Frozen(NamedTuple):
    """An item of a frozen record document, as the snapshot reads it."""

    section: str
    item: str
    type: str
    label: str
    visible: bool
    value: Any
    unit: str | None
    limits: dict | None
    verdict: Verdict
    reason: str | None
    action: str | None
    answered_by: Person | None
    answered_at: datetime | None


def frozen_items(document: "RecordDocument") -> list[Frozen]:
    """The one place that reads a record document's items: the typed RecordVersion.record, never the raw JSON."""
    return [Frozen(e.section, e.item, e.type, e.label, e.visible, e.value, e.unit,
                   e.limits.to_dict() if e.limits else None, e.verdict, e.reason, e.action, e.answered_by,
                   e.answered_at)
            for e in document.items]


def _links(raised: Iterable[Any]) -> dict[str, tuple[DeviationLink, ...]]:
    found: dict[str, list[DeviationLink]] = {}
    for d in raised:
        if d.item_name:
            found.setdefault(d.item_name, []).append(
                DeviationLink(d.id, d.status, d.source, d.raised_at, d.cause_category))
    return {name: tuple(sorted(links, key=lambda link: link.id)) for name, links in found.items()}


def _sections(definition: Mapping[str, Any], views: list[ItemView]) -> tuple[SectionView, ...]:
    titles = {s["name"]: s.get("title") or s["name"] for s in definition.get("sections", [])}
    grouped: list[tuple[str, list[ItemView]]] = []
    for view in views:
        if not grouped or grouped[-1][0] != view.section:
            grouped.append((view.section, []))
        grouped[-1][1].append(view)
    return tuple(SectionView(name, titles.get(name, name), tuple(items)) for name, items in grouped)


def from_draft(submission: Any, raised: Iterable[Any] | None = None) -> Snapshot:
    """The snapshot of a draft; its deviations are looked up (once) only when a visible answer fails."""
    definition = submission.form_version.definition
    answers = {a.item_name: a for a in submission.answers}
    raw = {name: a.value for name, a in answers.items()}
    shown = evaluation.visible_names(definition, raw)
    values = {name: value for name, value in raw.items() if name in shown}  # what a comparing item (scan) reads
    views = []
    for section, item in evaluation.iter_items(definition):
        answer, visible = answers.get(item["name"]), item["name"] in shown
        value = answer.value if answer else None
        user = answer.answered_by if answer else None
        views.append(ItemView(
            item, section["name"], visible, value, evaluation.evaluate(item, value if visible else None, values),
            answer is not None, answer.reason if answer else None, answer.action if answer else None,
            Person.of(user), answer.answered_at if answer else None))
    if raised is None and any(v.visible and v.verdict.state == "fail" for v in views):
        from app.services.quality.deviations import for_submission  # deviations imports the services this module serves

        raised = for_submission(submission.id)
    links = _links(raised or ())
    views = [replace(view, deviations=links[view.name]) if view.name in links else view for view in views]
    values = {name: value for name, value in raw.items() if name in shown}
    return Snapshot(_sections(definition, views), MappingProxyType(values))


def from_blank(definition: Mapping[str, Any]) -> Snapshot:
    """The snapshot of a form not started yet: nothing answered, show_if applied to no answers."""
    shown = evaluation.visible_names(definition, {})
    views = [ItemView(item, section["name"], item["name"] in shown, None, evaluation.evaluate(item, None), False)
             for section, item in evaluation.iter_items(definition)]
    return Snapshot(_sections(definition, views), MappingProxyType({}))


def from_document(document: Mapping[str, Any], definition: Mapping[str, Any], raised: Iterable[Any] = (),
                  changed: Mapping[str, int] | None = None) -> Snapshot:
    """The snapshot of a frozen record version: its own values, verdicts and the limits that applied then."""
    specs = {item["name"]: item for _section, item in evaluation.iter_items(definition)}
    links, changed = _links(raised), changed or {}
    views = []
    for entry in frozen_items(document):
        base = specs.get(entry.item) or {"name": entry.item, "type": entry.type, "label": entry.label}
        # The frozen unit and limits win over the definition's: they are what applied when the record was made.
        item = MappingProxyType({**base, "label": entry.label, "unit": entry.unit, **(entry.limits or {})})
        views.append(ItemView(
            item, entry.section, entry.visible, entry.value if entry.visible else None, entry.verdict,
            entry.answered_by is not None, entry.reason, entry.action, entry.answered_by, entry.answered_at,
            links.get(entry.item, ()), changed.get(entry.item)))
    values = {v.name: v.value for v in views if v.visible and v.value is not None}
    return Snapshot(_sections(definition, views), MappingProxyType(values))

