"""Generated data for the benchmarks: ``seed --orgs/--funds/--projects/--needs N``.

Fictional and deterministic (seeded RNG), inserted in batches with one
``INSERT`` per batch (no ORM objects, no per-row audit: this is benchmark data,
not a history). Every org is verified and gets one admin login; every fund gets
one donation ledger entry equal to its ``donations_fen`` (ledger sums stay equal to
the shown figures, rule 2); projects are published, paid from their org's funds;
needs get realistic Chinese texts and an encrypted fictional household
(bench/search.py, bench/load.py).
"""

from __future__ import annotations

import importlib
import json
import random
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

import click
from flask import current_app
from sqlalchemy import func, insert, select

from charitylink.core.crypto import DataCipher
from charitylink.core.identifiers import age_band
from charitylink.core.timeutil import today, utcnow
from charitylink.extensions import db
from charitylink.needs import codes as need_codes
from charitylink.seeding.demo import DEMO_PASSWORD
from charitylink.seeding.fictional import (
    ASSISTANCE_BY_CATEGORY,
    CATEGORIES,
    URGENCIES,
    claimable_counties,
    fictional_household,
    need_texts,
)

BENCH_PASSWORD = "Bench-Pass-2026"
NEED_TYPES = [
    "medical",
    "education",
    "housing",
    "living",
    "employment",
    "elderly_care",
    "disability",
    "child",
    "emergency",
    "other",
]
ORG_TYPES = ["foundation", "social_group", "social_service", "other"]
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_CITIES = ["长春", "吉林", "四平", "通化", "白山", "延边", "兰州", "西宁", "北京"]
_WORDS = ["爱心", "阳光", "春晖", "同心", "助学", "康复", "暖阳", "善行", "守望"]


def bench_uscc(n: int) -> str:
    """A valid 统一社会信用代码 (GB 32100 check character) for bench org ``n``."""
    body = f"53990000{n:09d}"[:17]
    total = sum(
        _USCC_ALPHABET.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True)
    )
    return body + _USCC_ALPHABET[(31 - total % 31) % 31]


def _batched(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _insert(model: Any, rows: Iterable[dict[str, Any]], n: int, label: str) -> None:
    with click.progressbar(length=n, label=label) as bar:
        for chunk in _batched(rows, 2000):
            db.session.execute(insert(model), chunk)
            db.session.commit()
            bar.update(len(chunk))


def generate_orgs(n: int, seed: int = 11) -> None:
    """``n`` verified orgs, each with an org-admin login (benchmark claims)."""
    from charitylink.accounts.models import Role, User
    from charitylink.accounts.passwords import hash_password
    from charitylink.orgs.models import Organization

    rng = random.Random(seed)
    counties = claimable_counties()
    start = db.session.scalar(select(func.max(Organization.id))) or 0
    now = utcnow()
    rows = (
        {
            "name": f"{rng.choice(_CITIES)}{rng.choice(_WORDS)}慈善会{start + i + 1}",
            "uscc": bench_uscc(start + i + 1),
            "org_type": rng.choice(ORG_TYPES),
            "region_code": rng.choice(counties),
            "description": "压力测试生成的虚构慈善组织。",
            "contact_phone": "0431-88886666",
            "status": "verified",
            "created_at": now,
            "verified_at": now,
        }
        for i in range(n)
    )
    _insert(Organization, rows, n, "生成机构")
    # One hash for all bench admins: argon2 at full cost is slow by design.
    pw = hash_password(BENCH_PASSWORD)
    ids = db.session.scalars(
        select(Organization.id).where(Organization.id > start).order_by(Organization.id)
    ).all()
    users = (
        {
            "email": f"bench-admin-{org_id}@charitylink.invalid",
            "name": f"压测管理员{org_id}",
            "password_hash": pw,
            "role": Role.ORG_ADMIN,
            "org_id": org_id,
            "active": True,
            "session_version": 1,
            "created_at": now,
        }
        for org_id in ids
    )
    _insert(User, users, len(ids), "生成机构管理员")


def generate_funds(n: int, seed: int = 12) -> None:
    """``n`` funds spread over the verified orgs, each with one donation."""
    from charitylink.funds.models import Fund, LedgerEntry
    from charitylink.orgs.models import Organization

    rng = random.Random(seed)
    org_ids = db.session.scalars(
        select(Organization.id).where(Organization.status == "verified")
    ).all()
    if not org_ids:
        raise click.ClickException("请先生成机构（--orgs）。")
    start = db.session.scalar(select(func.max(Fund.id))) or 0
    now = utcnow()
    amounts: list[int] = []

    def rows() -> Iterator[dict[str, Any]]:
        for i in range(n):
            special = rng.random() < 0.4
            amount = rng.randrange(50_000, 5_000_000) * 100
            amounts.append(amount)
            yield {
                "org_id": rng.choice(org_ids),
                "name": f"{rng.choice(_WORDS)}{'专项' if special else '冠名'}基金"
                f"{start + i + 1}",
                "kind": "special" if special else "named",
                "donor_name": None if special else "某某爱心企业",
                "purpose_need_types": rng.sample(NEED_TYPES, 3) if special else None,
                "purpose_region_prefix": None,
                "description": "压力测试生成的虚构基金。",
                "donations_fen": amount,
                "reserved_fen": 0,
                "disbursed_fen": 0,
                "created_at": now,
            }

    _insert(Fund, rows(), n, "生成基金")
    entries = (
        {
            "fund_id": start + i + 1,
            "kind": "donation",
            "amount_fen": amount,
            "donor_name": "压测捐赠人",
            "reference": f"BENCH-{start + i + 1}",
            "created_at": now,
        }
        for i, amount in enumerate(amounts)
    )
    _insert(LedgerEntry, entries, n, "生成捐赠记录")


def generate_projects(n: int, seed: int = 13) -> None:
    """``n`` published projects, each paid from a fund of its own org."""
    from charitylink.funds.models import Fund
    from charitylink.projects.models import Project

    rng = random.Random(seed)
    funds = db.session.execute(select(Fund.id, Fund.org_id)).all()
    if not funds:
        raise click.ClickException("请先生成基金（--funds）。")
    counties = claimable_counties()
    now = utcnow()
    d0 = today()

    def rows() -> Iterator[dict[str, Any]]:
        for i in range(n):
            fund_id, org_id = rng.choice(funds)
            published = now - timedelta(days=rng.randrange(1, 300))
            yield {
                "org_id": org_id,
                "fund_id": fund_id,
                "filing_number": f"53990000BENCH{i:06d}",
                "title": f"{rng.choice(_CITIES)}{rng.choice(_WORDS)}帮扶项目{i + 1}",
                "summary": "为困难家庭提供帮扶（压力测试生成的虚构项目）。",
                "body": "## 项目介绍\n\n压力测试生成的虚构项目。",
                "need_types": rng.sample(NEED_TYPES, 2),
                "region_codes": [rng.choice(counties)],
                "target_fen": rng.randrange(10_000, 1_000_000) * 100,
                "start_on": d0 - timedelta(days=30),
                "end_on": d0 + timedelta(days=300),
                "status": "published",
                "created_at": published - timedelta(days=2),
                "updated_at": published,
                "submitted_at": published - timedelta(days=1),
                "published_at": published,
                "last_progress_at": published,
            }

    _insert(Project, rows(), n, "生成项目")


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
    texts = need_texts()
    templates, names = texts["templates"], texts["names"]
    counties = claimable_counties()
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
            "code": need_codes.format_code(county, seq),
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


def generator_user_id() -> int:
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


def generate_needs(n: int, batch: int | None = None, search_index: bool = True) -> None:
    """Bulk-insert ``n`` fictional published-state needs (for benchmarks), then
    coarsen regions and rebuild the search index (unless ``search_index`` is
    false: a staged load builds it afterwards with ``search rebuild``).

    On PostgreSQL the rows go through ``COPY`` in batches (one commit per
    batch, so an interrupted load keeps what it wrote); elsewhere one
    multi-row ``INSERT`` per batch."""
    from charitylink.needs.models import Need

    user_id = generator_user_id()
    db.session.commit()
    start = db.session.scalar(select(func.count()).select_from(Need)) or 0
    # Generated codes start at sequence 500000 so they never meet entered needs'.
    rows = need_rows(n, user_id, seed=start + 7, start_seq=500_000 + start)
    write = _copy_writer() if db.engine.dialect.name == "postgresql" else None
    # COPY pays per statement far less than a multi-row INSERT: bigger batches.
    batch = batch or (10_000 if write is not None else 2000)
    with click.progressbar(length=n, label="生成需求") as bar:
        for chunk in _batched(rows, batch):
            if write is not None:
                write(chunk)
            else:
                db.session.execute(insert(Need), chunk)
            db.session.commit()
            bar.update(len(chunk))
    _after_bulk_needs(search_index)


def _copy_writer() -> Any:
    """A function writing a batch of need rows with ``COPY … FROM STDIN`` on the
    session's connection (psycopg 3), or None when the driver has no COPY."""
    from charitylink.needs.models import Need

    raw: Any = db.session.connection().connection.driver_connection
    if not hasattr(raw, "cursor") or not hasattr(raw.cursor(), "copy"):
        return None  # pragma: no cover - another driver
    table = Need.__table__
    names: list[str] = []
    json_columns: set[str] = set()

    def write(chunk: list[dict[str, Any]]) -> None:
        if not names:
            names.extend(chunk[0])
            json_columns.update(
                c for c in names if table.c[c].type.__class__.__name__ == "JSON"
            )
        conn: Any = db.session.connection().connection.driver_connection
        columns = ", ".join(names)
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY needs ({columns}) FROM STDIN") as copy,
        ):
            for row in chunk:
                copy.write_row(
                    [
                        json.dumps(row[c], ensure_ascii=False)
                        if c in json_columns and row[c] is not None
                        else row[c]
                        for c in names
                    ]
                )

    return write


def _after_bulk_needs(search_index: bool = True) -> None:
    """Coarsen public regions and rebuild the search index after a bulk insert."""
    try:
        from charitylink.needs.privacy import recompute_all_public_regions
    except ImportError:  # pragma: no cover - feature not present
        pass
    else:
        recompute_all_public_regions()
        db.session.commit()
    try:  # the report summary tables, where present: recomputed from the rows
        summary = importlib.import_module("charitylink.reports.summary")
    except ImportError:  # pragma: no cover - reports read their frame instead
        pass
    else:
        summary.rebuild(progress=True)
    if not search_index:
        return
    try:
        from charitylink.search import indexer
    except ImportError:  # pragma: no cover - feature not present
        return
    total = indexer.public_count()
    with click.progressbar(length=total, label="重建搜索索引", show_pos=True) as bar:
        indexer.rebuild(progress=bar.update)
