"""Report test data: needs and claims inserted as rows (not through the needs or
claims services), with a plain-Python copy of what was inserted so the tests can
compute the expected figures themselves."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from charitylink.claims.models import Claim
from charitylink.core.crypto import DataCipher
from charitylink.extensions import db
from charitylink.needs.models import Need

# (true county, public region): 220203's needs are shown at city level (220200).
REGIONS = [
    ("220102", "220102"),
    ("220103", "220103"),
    ("220104", "220104"),
    ("220105", "220105"),
    ("220202", "220202"),
    ("220203", "220200"),
    ("110101", "110101"),
]
CATEGORIES = ["dibao", "tekun", "dibao_edge", "relapse_watch", "rigid_expense", "other"]
TYPES = ["medical", "education", "housing", "living", "elderly_care", "child"]
ASSIST = ["dibao", "tekun", "temporary", "medical", "disability_subsidy"]
STATUSES = [
    "draft",
    "submitted",
    "published",
    "published",
    "fully_claimed",
    "delivered",
    "confirmed",
    "expired",
    "withdrawn",
]
TODAY = date(2026, 11, 28)
# Private data that must never appear on a public page or in the public API.
SECRET_NAME = "韩梅梅"
SECRET_ID = "220102198001011234"
SECRET_PHONE = "13912345678"


@dataclass
class Seeded:
    needs: list[dict[str, Any]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    orgs: list[Any] = field(default_factory=list)
    funds: list[Any] = field(default_factory=list)
    moderator: Any = None


def _dt(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)


@pytest.fixture
def seeded(app, create_user, create_org, create_fund) -> Seeded:  # type: ignore[no-untyped-def]
    """About 120 needs over 7 regions, 60 households, 3 orgs, ~100 claims."""
    rng = random.Random(20261128)
    cipher = DataCipher(app.config["DATA_KEY"])
    out = Seeded()
    out.moderator = create_user("moderator", region_prefix="22")
    for _ in range(3):
        org = create_org()
        out.orgs.append(org)
        out.funds.append(create_fund(org=org, donations_fen=50_000_000))
    # Households live in one region; some have several needs.
    households = []
    for h in range(60):
        region, public = REGIONS[h % len(REGIONS)] if h < 56 else REGIONS[0]
        households.append((f"hk{h:04d}", region, public))
    # One ciphertext for all: the test is about where it must not show up.
    private = cipher.encrypt_json(
        {
            "name": SECRET_NAME,
            "id_number": SECRET_ID,
            "phone": SECRET_PHONE,
            "address": "长春市南关区幸福路8号",
            "notes": "个案备注",
        }
    )
    n = 0
    claim_id = 0
    for hk, region, public in households:
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            n += 1
            status = rng.choice(STATUSES)
            published = None
            fully = None
            if status not in ("draft", "submitted"):
                published = _dt(date(2026, rng.randint(1, 11), rng.randint(1, 28)))
            if status in ("fully_claimed", "delivered", "confirmed") and published:
                fully = published + timedelta(hours=rng.randint(1, 24 * 40))
            assistance = [
                {"type": t, "monthly_amount": rng.randrange(0, 90_000, 100)}
                for t in rng.sample(ASSIST, rng.choice([0, 1, 1, 2]))
            ]
            row = {
                "id": n,
                "code": f"XQ-{region[:2]}-{n:06d}",
                "title": f"测试需求{n}",
                "description": "家庭因病致贫，需要帮助。",
                "category": rng.choice(CATEGORIES),
                "need_type": rng.choice(TYPES),
                "region_code": region,
                "public_region_code": public,
                "age_band": "40–49",
                "household_size": 3,
                "gov_assistance": assistance,
                "amount_fen": rng.randrange(100_000, 2_000_000, 100),
                "status": status,
                "household_key": hk,
                "claimed_fen": 0,
                "delivered_fen": 0,
                "published_at": published,
                "fully_claimed_at": fully,
            }
            need = Need(
                **row, private_ciphertext=private, entered_by_id=out.moderator.id
            )
            db.session.add(need)
            out.needs.append(row)
            if published is None:
                continue
            for _ in range(rng.choice([0, 1, 1, 2])):
                fund = rng.choice(out.funds)
                amount = rng.randrange(10_000, row["amount_fen"] // 2 + 1, 100)
                cstatus = rng.choice(
                    ["reserved", "delivered", "confirmed", "cancelled", "expired"]
                )
                delivered = None
                delivered_on = None
                if cstatus in ("delivered", "confirmed"):
                    delivered = rng.randrange(100, amount + 1, 100)
                    delivered_on = published.date() + timedelta(days=rng.randint(1, 20))
                created = published + timedelta(days=rng.randint(0, 10))
                claim_id += 1
                crow = {
                    "id": claim_id,
                    "need_id": n,
                    "org_id": fund.org_id,
                    "fund_id": fund.id,
                    "amount_fen": amount,
                    "status": cstatus,
                    "due_on": TODAY + timedelta(days=rng.randint(-10, 20)),
                    "delivered_fen": delivered,
                    "delivered_on": delivered_on,
                    "created_at": created,
                }
                db.session.add(Claim(**crow))
                out.claims.append(crow)
                # The need's counters, as the claims service keeps them (rule 1).
                if cstatus == "reserved":
                    need.claimed_fen += amount
                elif delivered is not None:
                    need.claimed_fen += delivered
                    need.delivered_fen += delivered
    db.session.flush()
    if db.session.get_bind().dialect.name == "postgresql":
        # Explicit ids bypass the sequences: move them past the rows.
        for table in ("needs", "claims"):
            db.session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
    db.session.commit()
    return out


def add_published_need(moderator: Any, i: int, **fields: Any) -> None:
    """Insert and commit one published need as a plain row: a living need in
    220104 of ¥500 unless ``fields`` say otherwise."""
    from charitylink.core.timeutil import utcnow

    row: dict[str, Any] = {
        "title": "测试",
        "category": "tekun",
        "need_type": "living",
        "region_code": "220104",
        "public_region_code": "220104",
        "age_band": "70–79",
        "household_size": 1,
        "gov_assistance": [],
        "amount_fen": 50_000,
        "status": "published",
        "private_ciphertext": "x",
        "household_key": f"c{i}",
        "entered_by_id": moderator.id,
        "published_at": utcnow(),
        **fields,
    }
    row.setdefault("code", f"XQ-{row['region_code'][:2]}-{i:06d}")
    db.session.add(Need(**row))
    db.session.commit()


def add_living_need(moderator: Any, i: int) -> None:
    """One published living need (220104, ¥500)."""
    add_published_need(moderator, i)
