"""Regions: reference data loaded from ``seeds/regions/regions.csv``."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from sqlalchemy import func, select

from charitylink.config import ROOT
from charitylink.extensions import db
from charitylink.regions.models import Region, RegionLevel

REGIONS_CSV = ROOT / "seeds" / "regions" / "regions.csv"


def load_regions(path: Path = REGIONS_CSV) -> int:
    """Insert the regions missing from the database; returns how many were added."""
    existing = set(db.session.scalars(select(Region.code)))
    added = 0
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["code"] in existing:
                continue
            db.session.add(
                Region(
                    code=row["code"],
                    name=row["name"],
                    level=RegionLevel(row["level"]),
                    parent_code=row["parent_code"] or None,
                )
            )
            added += 1
    db.session.flush()
    return added


@lru_cache(maxsize=1)
def _csv_index() -> dict[str, tuple[str, str, str | None]]:
    # Regions never change while the app runs: an in-process copy spares a query
    # per need rendered.
    with REGIONS_CSV.open(encoding="utf-8") as fh:
        return {
            r["code"]: (r["name"], r["level"], r["parent_code"] or None)
            for r in csv.DictReader(fh)
        }


def region_name(code: str | None) -> str:
    if not code:
        return ""
    row = _csv_index().get(code)
    if row:
        return row[0]
    region = db.session.get(Region, code)
    return region.name if region else code


def full_name(code: str | None) -> str:
    """``吉林省长春市南关区`` for a county code."""
    parts: list[str] = []
    seen = 0
    while code and seen < 5:
        row = _csv_index().get(code)
        if not row:
            break
        parts.append(row[0])
        code = row[2]
        seen += 1
    return "".join(reversed(parts))


def parent_code(code: str) -> str | None:
    row = _csv_index().get(code)
    return row[2] if row else None


def level_of(code: str) -> str | None:
    row = _csv_index().get(code)
    return row[1] if row else None


def exists(code: str) -> bool:
    return code in _csv_index()


def is_claimable_level(code: str) -> bool:
    """A need sits at county level; a prefecture with no counties (嘉峪关市) counts."""
    lvl = level_of(code)
    if lvl == "county":
        return True
    if lvl == "prefecture":
        return not any(p == code for (_, _, p) in _csv_index().values())
    return False


def children(code: str | None) -> list[tuple[str, str]]:
    return sorted((c, row[0]) for c, row in _csv_index().items() if row[2] == code)


def choices(
    levels: tuple[str, ...] = ("province", "prefecture", "county"),
) -> list[tuple[str, str]]:
    """(code, indented name) for select boxes, in code order."""
    indent = {"province": "", "prefecture": "　", "county": "　　"}
    return [
        (c, indent.get(row[1], "") + row[0])
        for c, row in sorted(_csv_index().items())
        if row[1] in levels
    ]


def prefix_of(code: str) -> str:
    """The code prefix that covers a region: 220000→22, 220100→2201, 220102→220102."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Region)) or 0


def scope_name(prefix: str | None) -> str:
    """The full name of a moderator's region prefix: ``2201`` → ``吉林省长春市``.

    A prefix of 2, 4 or 6 digits names a province, prefecture or county (the
    code padded with zeros); anything else is shown as the code itself."""
    if not prefix:
        return ""
    if prefix.isdigit() and len(prefix) in (2, 4, 6):
        name = full_name(prefix.ljust(6, "0"))
        if name:
            return name
    return prefix
