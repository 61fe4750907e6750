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


# Valid 18-digit citizen ID numbers (GB 11643 check character), all fictional.
def make_id_number(n: int, birth: str = "19580312", region: str = "220102") -> str:
    from charitylink.core.identifiers import id_check_char

    body = f"{region}{birth}{n % 1000:03d}"
    return body + id_check_char(body)


@pytest.fixture
def create_need(app, create_user):  # type: ignore[no-untyped-def]
    """``create_need(status="published", amount_fen=..., household=dict(...))``.

    Enters the need through ``needs.services.create_need`` (validation,
    encryption, household key, code, audit) and then forces the status (with
    ``published_at`` for public statuses) without the review steps, for speed.
    Extra keyword arguments in the API's input names (title, description, urgency,
    gov_assistance, in_kind, items, external_id, household_size) or model
    columns (claimed_fen, delivered_fen) are applied too.
    """
    from datetime import timedelta

    from charitylink.core.timeutil import today, utcnow
    from charitylink.needs import privacy
    from charitylink.needs import services as need_services
    from charitylink.needs.models import PUBLIC_STATUSES, NeedStatus

    def make(
        status: str = "published",
        amount_fen: int = 500_000,
        region_code: str = "220102",
        need_type: str = "medical",
        category: str = "dibao",
        household: dict[str, Any] | None = None,
        consent_share_contact: bool = False,
        deadline_on: Any = "default",
        entered_by: User | None = None,
        **overrides: Any,
    ) -> Any:
        n = next(_seq)
        hh = {
            "name": f"测试户{n}",
            "id_number": make_id_number(n),
            "phone": f"139{n % 100000000:08d}",
            "address": "测试街道",
            "region_code": "",
            "notes": "",
            "consent_share_contact": consent_share_contact,
        }
        hh.update(household or {})
        if deadline_on == "default":
            deadline_on = today() + timedelta(days=60)
        columns = {
            k: overrides.pop(k)
            for k in ("claimed_fen", "delivered_fen")
            if k in overrides
        }
        data: dict[str, Any] = {
            "title": "患病老人需要医疗费用帮扶",
            "description": "家庭成员长期患病，医疗费用负担较重，希望得到帮助。",
            "category": category,
            "need_type": need_type,
            "region_code": region_code,
            "household_size": 3,
            "gov_assistance": [{"type": "dibao", "monthly_amount": 60_000}],
            "amount": amount_fen,
            "urgency": "normal",
            "deadline": deadline_on.isoformat() if deadline_on else None,
            "household": hh,
        }
        data.update(overrides)
        moderator = entered_by or create_user("moderator", region_prefix="22")
        need = need_services.create_need(data, moderator)
        for key, value in columns.items():
            setattr(need, key, value)
        status = NeedStatus(status)
        if status != NeedStatus.DRAFT:
            need.status = status
            if status != NeedStatus.REJECTED:
                need.submitted_at = utcnow()
            if status in PUBLIC_STATUSES or status in (
                NeedStatus.WITHDRAWN,
                NeedStatus.EXPIRED,
            ):
                need.published_at = utcnow()
            privacy.recompute_public_region(need.region_code)
        db.session.commit()
        return need

    return make


@pytest.fixture
def make_offer(app, create_org):  # type: ignore[no-untyped-def]
    """``make_offer(org=..., capacity_per_month=..., unit_value_fen=...)``: an
    open offer written straight through the model (what a match needs)."""
    from charitylink.core.timeutil import today
    from charitylink.offers.models import Offer, OfferKind, OfferStatus

    def make(org: Organization | None = None, **overrides: Any) -> Any:
        org = org or create_org()
        fields: dict[str, Any] = {
            "org_id": org.id,
            "kind": OfferKind.SERVICE,
            "title": "上门照护服务",
            "description": "为独居老人提供上门照护。",
            "need_types": ["medical", "elderly_care"],
            "region_prefix": "22",
            "unit": "次",
            "capacity_per_month": 10,
            "unit_value_fen": 10_000,
            "start_on": today(),
            "end_on": None,
            "status": OfferStatus.OPEN,
        }
        fields.update(overrides)
        offer = Offer(**fields)
        db.session.add(offer)
        db.session.commit()
        return offer

    return make
