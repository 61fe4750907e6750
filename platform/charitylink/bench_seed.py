"""Bulk generators for the load benchmark: ``seed --orgs N --funds N --projects N``.

Fictional and deterministic (seeded RNG), inserted in batches with one
``INSERT`` per batch (no ORM objects, no per-row audit: this is benchmark data,
not a history). Every org is verified and gets one admin login; every fund gets
one donation ledger entry equal to its ``donations_fen`` (ledger sums stay equal to
the shown figures, rule 2); projects are published, paid from their org's funds.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

import click
from sqlalchemy import func, insert, select

from charitylink.core.timeutil import today, utcnow
from charitylink.extensions import db

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


def _counties() -> list[str]:
    from charitylink.seeding import _counties

    return _counties()


def generate_orgs(n: int, seed: int = 11) -> None:
    """``n`` verified orgs, each with an org-admin login (benchmark claims)."""
    from charitylink.accounts.models import Role, User
    from charitylink.accounts.passwords import hash_password
    from charitylink.orgs.models import Organization

    rng = random.Random(seed)
    counties = _counties()
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
    counties = _counties()
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
