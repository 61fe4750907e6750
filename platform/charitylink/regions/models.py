from __future__ import annotations

import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from charitylink.extensions import Model


class RegionLevel(enum.StrEnum):
    PROVINCE = "province"
    PREFECTURE = "prefecture"
    COUNTY = "county"
    TOWNSHIP = "township"


class Region(Model):
    """A GB/T 2260 division (6 digits; townships 9 or 12)."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[RegionLevel] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("regions.code"), index=True
    )
