"""Site → Area → Line → Station."""
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db


class Site(db.Model):
    """One plant: its name, IANA time zone and shift start times."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    shift_pattern: Mapped[str] = mapped_column(String(64), default="06:00/14:00/22:00")
    areas: Mapped[list["Area"]] = relationship(back_populates="site", order_by="Area.name")


class Area(db.Model):
    """A part of the plant that a board shows together."""

    __table_args__ = (UniqueConstraint("site_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    name: Mapped[str] = mapped_column(String(120))
    site: Mapped[Site] = relationship(back_populates="areas")
    lines: Mapped[list["Line"]] = relationship(back_populates="area", order_by="Line.name")


class Line(db.Model):
    """A production line."""

    __table_args__ = (UniqueConstraint("area_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    name: Mapped[str] = mapped_column(String(120))
    area: Mapped[Area] = relationship(back_populates="lines")
    stations: Mapped[list["Station"]] = relationship(back_populates="line", order_by="Station.name")


class Station(db.Model):
    """A place where checks are done; station names are unique in a site."""

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("line.id"))
    name: Mapped[str] = mapped_column(String(120), unique=True)
    line: Mapped[Line] = relationship(back_populates="stations")

    @property
    def label(self) -> str:
        """'Line 1 · Press 1'."""
        return f"{self.line.name} · {self.name}"
