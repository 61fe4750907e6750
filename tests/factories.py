"""Test data factories: fixtures returning callables (``create_org(**overrides)``).

Objects are committed, so HTTP requests through the test client and other
connections see them."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from charitylink.accounts.models import Role, User
from charitylink.accounts.passwords import hash_password
from charitylink.extensions import db
from charitylink.funds.models import Fund, FundKind
from charitylink.orgs.models import Organization, OrgStatus, OrgType
from charitylink.projects.models import Project, ProjectStatus

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery"

# Valid 统一社会信用代码 built with the GB 32100 check character.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]


def make_uscc(n: int) -> str:
    body = f"53220100{n:08d}X"[:17]
    body = body[:16] + "0"
    total = sum(
        _USCC_ALPHABET.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True)
    )
    return body + _USCC_ALPHABET[(31 - total % 31) % 31]


@pytest.fixture
def create_user(app):  # type: ignore[no-untyped-def]
    def make(role: str = "moderator", **overrides: Any) -> User:
        n = next(_seq)
        role = Role(role)
        fields: dict[str, Any] = {
            "email": f"user{n}@example.org",
            "name": f"测试用户{n}",
            "password_hash": hash_password(overrides.pop("password", PASSWORD)),
            "role": role,
            "region_prefix": "22" if role == Role.MODERATOR else None,
        }
        org = overrides.pop("org", None)
        if org is not None:
            fields["org_id"] = org.id
        fields.update(overrides)
        user = User(**fields)
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def create_org(app, create_user):  # type: ignore[no-untyped-def]
    def make(with_admin: bool = True, **overrides: Any) -> Organization:
        n = next(_seq)
        fields: dict[str, Any] = {
            "name": f"测试慈善基金会{n}",
            "uscc": make_uscc(n),
            "org_type": OrgType.FOUNDATION,
            "region_code": "220102",
            "description": "一家测试用的慈善组织。",
            "contact_phone": "0431-88886666",
            "status": OrgStatus.VERIFIED,
        }
        fields.update(overrides)
        org = Organization(**fields)
        db.session.add(org)
        db.session.commit()
        if with_admin:
            create_user("org_admin", org=org)
        return org

    return make


def org_admin_of(org: Organization) -> User:
    return db.session.scalars(
        db.select(User).where(User.org_id == org.id, User.role == Role.ORG_ADMIN)
    ).first()


@pytest.fixture
def create_fund(app, create_org):  # type: ignore[no-untyped-def]
    def make(
        org: Organization | None = None, donations_fen: int = 0, **overrides: Any
    ) -> Fund:
        from charitylink.funds import ledger

        org = org or create_org()
        n = next(_seq)
        fields: dict[str, Any] = {
            "org_id": org.id,
            "name": f"测试冠名基金{n}",
            "kind": FundKind.NAMED,
            "donor_name": "某某爱心企业",
        }
        fields.update(overrides)
        if fields["kind"] == FundKind.SPECIAL:
            fields.setdefault("purpose_need_types", ["medical"])
            fields["donor_name"] = overrides.get("donor_name")
        fund = Fund(**fields)
        db.session.add(fund)
        db.session.flush()
        if donations_fen:
            ledger.add_donation(fund, donations_fen, donor_name="测试捐赠人")
        db.session.commit()
        return fund

    return make


@pytest.fixture
def create_project(app, create_fund):  # type: ignore[no-untyped-def]
    def make(fund: Fund | None = None, **overrides: Any) -> Project:
        fund = fund or create_fund()
        fields: dict[str, Any] = {
            "org_id": fund.org_id,
            "fund_id": fund.id,
            "title": "困境儿童助学帮扶项目",
            "summary": "为困难家庭儿童提供助学金。",
            "body": "## 项目介绍\n\n资助**困难家庭**学生。",
            "need_types": ["education"],
            "region_codes": ["220102"],
            "target_fen": 10_000_000,
            "status": ProjectStatus.PUBLISHED,
        }
        fields.update(overrides)
        project = Project(**fields)
        if project.status == ProjectStatus.PUBLISHED:
            from charitylink.core.timeutil import utcnow

            project.published_at = utcnow()
        db.session.add(project)
        db.session.commit()
        return project

    return make
