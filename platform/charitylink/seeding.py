"""Demo data (SPEC §8): ``flask --app wsgi seed [--needs N]``.

Everything here is fictional: names are drawn from common surname and given-name
lists, ID numbers are generated with valid check digits for birth dates and
counties picked at random, phones sit in an unassigned-looking 1990000xxxx range.
The generator is seeded, so every run produces the same demo."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import click
from flask import current_app
from sqlalchemy import func, insert, select

from charitylink.config import ROOT
from charitylink.core.crypto import DataCipher
from charitylink.core.identifiers import age_band, id_check_char
from charitylink.core.timeutil import today, utcnow
from charitylink.extensions import db

DEMO_DIR = ROOT / "seeds" / "demo"
DEMO_PASSWORD = "Demo-Pass-2026"
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


def has_data() -> bool:
    from charitylink.models import Organization, User

    users = db.session.scalar(select(func.count()).select_from(User)) or 0
    orgs = db.session.scalar(select(func.count()).select_from(Organization)) or 0
    return bool(users or orgs)


def _demo() -> dict[str, Any]:
    return json.loads((DEMO_DIR / "demo.json").read_text(encoding="utf-8"))


def _need_texts() -> dict[str, Any]:
    return json.loads((DEMO_DIR / "needs.json").read_text(encoding="utf-8"))


def _counties() -> list[str]:
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


def need_rows(
    n: int,
    entered_by_id: int,
    *,
    seed: int = 2026,
    start_seq: int = 0,
    statuses: tuple[tuple[str, int], ...] = (
        ("published", 70),
        ("fully_claimed", 10),
        ("delivered", 8),
        ("confirmed", 7),
        ("expired", 3),
        ("withdrawn", 2),
    ),
) -> Iterator[dict[str, Any]]:
    """Yield ``n`` fictional need rows ready for a bulk INSERT (benchmarks)."""
    rng = random.Random(seed)
    texts = _need_texts()
    templates, names = texts["templates"], texts["names"]
    counties = _counties()
    cipher = DataCipher(current_app.config["DATA_KEY"])
    status_pop = [s for s, _w in statuses]
    status_w = [w for _s, w in statuses]
    types = sorted(templates)
    now = utcnow()
    d0 = today()
    for i in range(n):
        county = rng.choice(counties)
        need_type = rng.choice(types)
        title, description, (lo, hi) = rng.choice(templates[need_type])
        category = rng.choice(CATEGORIES)
        hh = fictional_household(rng, county, names)
        amount = rng.randrange(lo, hi + 1, 100) * 100
        status = rng.choices(status_pop, status_w)[0]
        claimed = {
            "fully_claimed": amount,
            "delivered": amount,
            "confirmed": amount,
        }.get(
            status, rng.choice([0, 0, 0, amount // 2]) if status == "published" else 0
        )
        delivered = amount if status in ("delivered", "confirmed") else 0
        published_at = now - timedelta(
            days=rng.randrange(1, 360), minutes=rng.randrange(1440)
        )
        assistance = [
            {
                "type": t,
                "monthly_amount": rng.randrange(lo_a, hi_a + 1, 100) if hi_a else 0,
            }
            for t, lo_a, hi_a in ASSISTANCE_BY_CATEGORY[category]
        ]
        seq = start_seq + i + 1
        yield {
            "code": f"XQ-{county}-{seq:06d}"
            if seq < 1_000_000
            else f"XQ-{county}-{seq}",
            "external_id": None,
            "title": title,
            "description": description,
            "category": category,
            "need_type": need_type,
            "region_code": county,
            "public_region_code": county,
            "age_band": age_band(hh.birth, d0),
            "household_size": rng.choice([1, 1, 2, 3, 3, 4, 5]),
            "gov_assistance": assistance,
            "amount_fen": amount,
            "claimed_fen": claimed,
            "delivered_fen": delivered,
            "in_kind": False,
            "items": None,
            "urgency": rng.choice(URGENCIES),
            "deadline_on": d0 + timedelta(days=rng.randrange(15, 240)),
            "status": status,
            "private_ciphertext": cipher.encrypt_json(
                {
                    "name": hh.name,
                    "id_number": hh.id_number,
                    "phone": hh.phone,
                    "address": hh.address,
                    "region_code": hh.township,
                    "notes": "系统生成的虚构测试数据。",
                }
            ),
            "household_key": cipher.household_key(hh.id_number),
            "consent_share_contact": rng.random() < 0.3,
            "entered_by_id": entered_by_id,
            "created_at": published_at - timedelta(days=2),
            "updated_at": published_at,
            "submitted_at": published_at - timedelta(days=1),
            "published_at": published_at,
            "fully_claimed_at": (
                published_at + timedelta(days=rng.randrange(1, 40))
                if claimed == amount
                else None
            ),
        }


def _generator_user_id() -> int:
    from charitylink.accounts.models import Role, User
    from charitylink.accounts.passwords import hash_password

    user = db.session.scalar(
        select(User).where(User.email == "generator@charitylink.invalid")
    )
    if user is None:
        user = User(
            email="generator@charitylink.invalid",
            name="数据生成器",
            password_hash=hash_password(DEMO_PASSWORD + "-generator"),
            role=Role.MODERATOR,
            region_prefix="",
            active=False,
        )
        db.session.add(user)
        db.session.flush()
    return user.id


def generate_needs(n: int, batch: int = 2000) -> None:
    """Bulk-insert ``n`` fictional published-state needs (for benchmarks), then
    coarsen regions and rebuild the search index."""
    from charitylink.needs.models import Need

    user_id = _generator_user_id()
    start = db.session.scalar(select(func.count()).select_from(Need)) or 0
    # Generated codes start at sequence 500000 so they never meet entered needs'.
    rows = need_rows(n, user_id, seed=start + 7, start_seq=500_000 + start)
    with click.progressbar(length=n, label="生成需求") as bar:
        chunk: list[dict[str, Any]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= batch:
                db.session.execute(insert(Need), chunk)
                db.session.commit()
                bar.update(len(chunk))
                chunk = []
        if chunk:
            db.session.execute(insert(Need), chunk)
            db.session.commit()
            bar.update(len(chunk))
    _after_bulk_needs()


def _after_bulk_needs() -> None:
    """Coarsen public regions and rebuild the search index after a bulk insert."""
    try:
        from charitylink.needs.privacy import recompute_all_public_regions
    except ImportError:  # pragma: no cover - feature not present
        recompute_all_public_regions = None
    if recompute_all_public_regions is not None:
        recompute_all_public_regions()
        db.session.commit()
    try:
        from charitylink.search.indexer import rebuild
    except ImportError:  # pragma: no cover - feature not present
        return
    rebuild()


def load_demo() -> None:
    raise NotImplementedError
