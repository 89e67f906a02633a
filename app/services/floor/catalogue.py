"""Published form versions: loading forms/*.yaml into the database, and which forms apply where."""
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from app.canonical import canonical_json, sha256_hex
from app.definitions import DefinitionError, Problem, definition_files, load_definition
from app.extensions import db
from app.models import FormVersion, Station
from app.services.core import audit
from app.services.core.audit import Actor


@dataclass
class SyncReport:
    """What a sync did: versions published, files unchanged, and problems that refused a file."""

    published: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def sync_definitions(directory: Path, actor: Actor) -> SyncReport:
    """Publish every new form version found in directory; published versions never change."""
    report = SyncReport()
    for path in definition_files(directory):
        try:
            definition = load_definition(path)
        except DefinitionError as error:
            report.problems.extend(error.problems)
            continue
        body = canonical_json(definition)
        digest = sha256_hex(body)
        stored = db.session.scalar(select(FormVersion).where(
            FormVersion.form_id == definition["id"], FormVersion.version == definition["version"]))
        label = f"{definition['id']} v{definition['version']}"
        if stored is not None:
            if stored.sha256 == digest:
                report.unchanged.append(label)
            else:
                report.problems.append(Problem(str(path), 1, "version",
                    f"{label} is already published with different content; "
                    f"expected the version to be bumped to {_next_version(definition['id'])}"))
            continue
        db.session.add(FormVersion(form_id=definition["id"], version=definition["version"],
                                   title=definition["title"], kind=definition["kind"],
                                   definition_json=body, sha256=digest, source_file=path.name))
        db.session.flush()
        audit.record(actor, "form.published", "form_version", label, after={"sha256": digest})
        report.published.append(label)
    db.session.commit()
    return report


def _next_version(form_id: str) -> int:
    return (db.session.scalar(select(func.max(FormVersion.version)).where(FormVersion.form_id == form_id)) or 0) + 1


def latest_versions() -> list[FormVersion]:
    """The newest version of every form, by title."""
    newest = (select(FormVersion.form_id, func.max(FormVersion.version).label("v"))
              .group_by(FormVersion.form_id).subquery())
    query = (select(FormVersion)
             .join(newest, (FormVersion.form_id == newest.c.form_id) & (FormVersion.version == newest.c.v))
             .order_by(FormVersion.title))
    return list(db.session.scalars(query))


def applies_to(version: FormVersion, station: Station) -> bool:
    """True when the definition's applies_to names this station or its line (empty = everywhere)."""
    return scope_includes(version.definition["applies_to"], station.name, station.line.name)


def scope_includes(scope: dict, station_name: str, line_name: str) -> bool:
    """The applies_to rule without the database: empty lists mean everywhere, else the station or its line."""
    if not scope["lines"] and not scope["stations"]:
        return True
    return station_name in scope["stations"] or line_name in scope["lines"]


def forms_for_station(station: Station) -> list[FormVersion]:
    """The newest version of each form that applies at station."""
    return [v for v in latest_versions() if applies_to(v, station)]
