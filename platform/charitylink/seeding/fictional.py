"""Fictional people and places shared by the demo and the generated data.

Everything here is fictional: names are drawn from common surname and given-name
lists, ID numbers are generated with valid check digits for birth dates and
counties picked at random, phones sit in an unassigned-looking 1990000xxxx range.
The generators are seeded, so every run produces the same data."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from charitylink.config import ROOT
from charitylink.core.identifiers import id_check_char

DEMO_DIR = ROOT / "seeds" / "demo"
CATEGORIES = ["dibao", "tekun", "dibao_edge", "relapse_watch", "rigid_expense", "other"]
URGENCIES = ["low", "normal", "normal", "normal", "high", "critical"]
ASSISTANCE_BY_CATEGORY = {
    "dibao": [("dibao", 45000, 90000)],
    "tekun": [("tekun", 70000, 120000)],
    "dibao_edge": [("temporary", 0, 0)],
    "relapse_watch": [],
    "rigid_expense": [("medical", 0, 0)],
    "other": [],
}


def need_texts() -> dict[str, Any]:
    return json.loads((DEMO_DIR / "needs.json").read_text(encoding="utf-8"))


def claimable_counties() -> list[str]:
    from charitylink.regions.services import _csv_index, is_claimable_level

    return sorted(
        code
        for code in _csv_index()
        if code[:2] in ("11", "22", "62", "63") and is_claimable_level(code)
    )


@dataclass
class Household:
    name: str
    id_number: str
    phone: str
    address: str
    township: str
    birth: date


def fictional_household(
    rng: random.Random, county: str, names: dict[str, Any]
) -> Household:
    birth = date(1935, 1, 1) + timedelta(days=rng.randrange(0, 365 * 88))
    body = f"{county}{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
    id_number = body + id_check_char(body)
    name = rng.choice(names["surnames"]) + rng.choice(names["given"])
    phone = f"1990000{rng.randrange(0, 10000):04d}"
    address = f"{rng.choice(names['villages'])}{rng.randrange(1, 12)}组{rng.randrange(1, 80)}号"
    return Household(name, id_number, phone, address, county + "100", birth)
