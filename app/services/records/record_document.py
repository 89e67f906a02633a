"""The frozen record as typed, immutable values: built from a draft once, corrected into version n+1, and
spelled as canonical JSON.

The JSON is what auditors' sha256 covers, so to_dict() spells exactly the keys records have always had
(None values included, `correction` only on a corrected version); tests/test_record_document.py holds it
to golden records made before these classes existed.
"""
import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Mapping

from app.canonical import canonical_json, sha256_hex
from app.services.floor import evaluation
from app.services.floor.submissions import answer_values, answers_by_item
from app.services.floor.evaluation import ReadingVerdict, Verdict

LIMIT_KEYS = ("nominal", "lsl", "usl", "warn_low", "warn_high")
SUMMARY_STATES = ("ok", "warn", "fail", "na")
JSON = Any  # an answer's value as stored: str, float, bool, a list of them, or None


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(frozen=True)
class Person:
    """Someone named in a record: login name and the name printed on it."""

    username: str
    printed_name: str

    @classmethod
    def of(cls, user: Any) -> "Person | None":
        """The person for a user (anything with username and printed_name), None for nobody."""
        return None if user is None else cls(user.username, user.printed_name)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "Person | None":
        """The person as stored, None when nobody is stored."""
        return None if data is None else cls(data["username"], data["printed_name"])

    def to_dict(self) -> dict[str, str]:
        """Plain dict for JSON."""
        return {"username": self.username, "printed_name": self.printed_name}


def _person_dict(person: Person | None) -> dict[str, str] | None:
    return None if person is None else person.to_dict()


@dataclass(frozen=True)
class FormRef:
    """The published form version the record was filled on."""

    id: str
    version: int
    title: str
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {"id": self.id, "version": self.version, "title": self.title, "sha256": self.sha256}


@dataclass(frozen=True)
class SiteRef:
    """The site and its time zone when the record was made."""

    name: str
    timezone: str

    def to_dict(self) -> dict[str, str]:
        """Plain dict for JSON."""
        return {"name": self.name, "timezone": self.timezone}


@dataclass(frozen=True)
class ShiftRef:
    """The production day and shift code the record belongs to."""

    date: date
    code: str

    def to_dict(self) -> dict[str, str]:
        """Plain dict for JSON."""
        return {"date": self.date.isoformat(), "code": self.code}


@dataclass(frozen=True)
class Limits:
    """The spec and warning limits of a number item as they applied to the record."""

    nominal: float | None = None
    lsl: float | None = None
    usl: float | None = None
    warn_low: float | None = None
    warn_high: float | None = None

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> "Limits":
        """The limits a definition's number item states (absent ones are None)."""
        return cls(*(item.get(key) for key in LIMIT_KEYS))

    def to_dict(self) -> dict[str, float | None]:
        """Plain dict for JSON, every key present."""
        return {key: getattr(self, key) for key in LIMIT_KEYS}


def verdict_from_dict(data: Mapping[str, Any]) -> Verdict:
    """A verdict as stored in a record back into evaluation's Verdict."""
    readings = tuple(ReadingVerdict(r["value"], r["state"]) for r in data["readings"])
    return Verdict(data["state"], data["summary"], readings)


@dataclass(frozen=True)
class DocumentItem:
    """One item of the frozen record: what it asked, the value that counted, the verdict and explanation."""

    section: str
    item: str
    type: str
    label: str
    visible: bool
    value: JSON
    unit: str | None
    limits: Limits | None
    verdict: Verdict
    reason: str | None
    action: str | None
    answered_by: Person | None
    answered_at: datetime | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "DocumentItem":
        """The item as stored."""
        limits = data["limits"]
        return cls(data["section"], data["item"], data["type"], data["label"], data["visible"], data["value"],
                   data["unit"], None if limits is None else Limits(**limits), verdict_from_dict(data["verdict"]),
                   data["reason"], data["action"], Person.from_dict(data["answered_by"]), _moment(data["answered_at"]))

    @property
    def state(self) -> str:
        """The verdict's state: ok, warn, fail, na, info or unanswered."""
        return self.verdict.state

    @property
    def answered(self) -> bool:
        """True when the item carries an answer that counted (visible, answered by someone)."""
        return self.visible and self.answered_by is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON, every key present."""
        return {
            "section": self.section, "item": self.item, "type": self.type, "label": self.label,
            "visible": self.visible, "value": self.value, "unit": self.unit,
            "limits": None if self.limits is None else self.limits.to_dict(), "verdict": self.verdict.to_dict(),
            "reason": self.reason, "action": self.action, "answered_by": _person_dict(self.answered_by),
            "answered_at": _iso(self.answered_at),
        }


@dataclass(frozen=True)
class Change:
    """One answer a correction changed: old and new value."""

    item: str
    label: str
    old: JSON
    new: JSON

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {"item": self.item, "label": self.label, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class Correction:
    """Why, by whom and when version n+1 changed version n, and what it changed."""

    reason: str
    by: Person
    at: datetime
    from_version: int
    changes: tuple[Change, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "Correction | None":
        """The correction as stored, None for an original version."""
        if data is None:
            return None
        changes = tuple(Change(c["item"], c["label"], c["old"], c["new"]) for c in data["changes"])
        return cls(data["reason"], Person.from_dict(data["by"]), _moment(data["at"]), data["from_version"], changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {"reason": self.reason, "by": self.by.to_dict(), "at": self.at.isoformat(),
                "from_version": self.from_version, "changes": [c.to_dict() for c in self.changes]}


@dataclass(frozen=True)
class RecordDocument:
    """A frozen record version: header, every item of the form, and the correction that made it (if any)."""

    record_id: str
    version: int
    form: FormRef
    site: SiteRef
    area: str
    line: str
    station: str
    shift: ShiftRef
    device: str | None
    started_by: Person | None
    started_at: datetime
    submitted_by: Person | None
    submitted_at: datetime
    items: tuple[DocumentItem, ...]
    correction: Correction | None = None

    @classmethod
    def from_draft(cls, submission: Any, version: int, site: Any) -> "RecordDocument":
        """Freeze a submitted draft: every item with the value that counted, the limits that applied, its
        verdict and explanation (a hidden item keeps who answered it, but no value)."""
        values, answers = answer_values(submission), answers_by_item(submission)
        form = submission.form_version
        items = []
        for section, item in evaluation.iter_items(form.definition):
            answer = answers.get(item["name"])
            visible = evaluation.is_visible(item, values)
            value = answer.value if answer and visible else None
            items.append(DocumentItem(
                section["name"], item["name"], item["type"], item["label"], visible, value, item.get("unit"),
                Limits.of(item) if item["type"] == "number" else None, evaluation.evaluate(item, value, values),
                answer.reason if answer else None, answer.action if answer else None,
                Person.of(answer.answered_by) if answer else None, answer.answered_at if answer else None))
        station = submission.station
        return cls(
            submission.id, version, FormRef(form.form_id, form.version, form.title, form.sha256),
            SiteRef(site.name, site.timezone), station.line.area.name, station.line.name, station.name,
            ShiftRef(submission.shift_date, submission.shift_code),
            submission.device.name if submission.device else None,
            Person.of(submission.started_by), submission.started_at,
            Person.of(submission.submitted_by), submission.submitted_at, tuple(items))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RecordDocument":
        """The document as stored (its summary is recomputed from the items, as it was made)."""
        form, site, shift = data["form"], data["site"], data["shift"]
        return cls(
            data["record_id"], data["version"], FormRef(form["id"], form["version"], form["title"], form["sha256"]),
            SiteRef(site["name"], site["timezone"]), data["area"], data["line"], data["station"],
            ShiftRef(date.fromisoformat(shift["date"]), shift["code"]), data["device"],
            Person.from_dict(data["started_by"]), _moment(data["started_at"]),
            Person.from_dict(data["submitted_by"]), _moment(data["submitted_at"]),
            tuple(DocumentItem.from_dict(i) for i in data["items"]), Correction.from_dict(data.get("correction")))

    @classmethod
    def from_json(cls, text: str | bytes) -> "RecordDocument":
        """The document from its canonical JSON."""
        return cls.from_dict(json.loads(text))

    @property
    def summary(self) -> dict[str, int]:
        """How many items are ok, warn, fail and na."""
        return {state: sum(1 for i in self.items if i.verdict.state == state) for state in SUMMARY_STATES}

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON: every key records have, `correction` only when there is one."""
        data = {
            "record_id": self.record_id, "version": self.version, "form": self.form.to_dict(),
            "site": self.site.to_dict(), "area": self.area, "line": self.line, "station": self.station,
            "shift": self.shift.to_dict(), "device": self.device,
            "started_by": _person_dict(self.started_by), "started_at": self.started_at.isoformat(),
            "submitted_by": _person_dict(self.submitted_by), "submitted_at": self.submitted_at.isoformat(),
            "items": [i.to_dict() for i in self.items], "summary": self.summary,
        }
        if self.correction is not None:
            data["correction"] = self.correction.to_dict()
        return data

    def canonical_json(self) -> str:
        """The one spelling of this version that its sha256 covers."""
        return canonical_json(self.to_dict())

    @property
    def sha256(self) -> str:
        """Hex sha256 of the canonical JSON."""
        return sha256_hex(self.canonical_json())

    def item(self, name: str) -> DocumentItem:
        """The item called name; KeyError when the form has none."""
        for entry in self.items:
            if entry.item == name:
                return entry
        raise KeyError(name)

    def values(self) -> dict[str, JSON]:
        """Values of the visible, answered items keyed by item name."""
        return {i.item: i.value for i in self.items if i.visible and i.value is not None}

    def rejudged(self, definition: Mapping[str, Any], values: Mapping[str, JSON]) -> tuple[DocumentItem, ...]:
        """The items with new values applied: visibility, value and verdict again from the definition."""
        shown = evaluation.visible_names(definition, values)
        specs = {item["name"]: item for _section, item in evaluation.iter_items(definition)}
        items = []
        for entry in self.items:
            visible = entry.item in shown
            value = values.get(entry.item) if visible else None
            items.append(replace(entry, visible=visible, value=value,
                                 verdict=evaluation.evaluate(specs[entry.item], value, values)))
        return tuple(items)

    def with_correction(self, definition: Mapping[str, Any], item_name: str, value: JSON, reason: str,
                        corrector: Any, at: datetime) -> "RecordDocument":
        """Version n+1: item_name set to value (None clears it), every item judged again, the corrected item
        answered by corrector at `at`, and the correction that says so."""
        values = self.values()
        old = values.get(item_name)
        if value is None:
            values.pop(item_name, None)
        else:
            values[item_name] = value
        person = Person.of(corrector)
        items = tuple(replace(i, answered_by=person, answered_at=at) if i.item == item_name else i
                      for i in self.rejudged(definition, values))
        label = next(item["label"] for _s, item in evaluation.iter_items(definition) if item["name"] == item_name)
        correction = Correction(reason, person, at, self.version, (Change(item_name, label, old, value),))
        return replace(self, version=self.version + 1, items=items, correction=correction)
