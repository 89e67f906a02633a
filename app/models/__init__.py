"""Typed models, one module per aggregate; imported here so Alembic sees every table."""
from app.models.audit import AuditEvent
from app.models.blob import Blob
from app.models.board import BoardEvent, BoardScreen
from app.models.deviation import Deviation
from app.models.downtime import DowntimeEvent
from app.models.export import ExportRun
from app.models.form import FormVersion
from app.models.idempotency import IdempotencyKey
from app.models.job import Job
from app.models.plant import Area, Line, Site, Station
from app.models.search_document import RecordSigner, SearchDocument
from app.models.signature import RenderedPdf, Signature
from app.models.submission import Answer, Attachment, RecordVersion, Submission
from app.models.user import Device, LoginThrottle, TabletSignOut, User
from app.roles import ROLES

__all__ = [
    "Answer", "Area", "Attachment", "AuditEvent", "Blob", "BoardEvent", "BoardScreen", "Deviation", "Device",
    "DowntimeEvent", "ExportRun", "FormVersion", "IdempotencyKey", "Job", "Line", "LoginThrottle", "RecordSigner",
    "RecordVersion", "RenderedPdf", "ROLES", "SearchDocument", "Signature", "Site", "Station", "Submission",
    "TabletSignOut", "User",
]
