"""A registration with an existing account's address tells the owner by mail:
no audit row, nothing from the form beyond the org's name."""

from __future__ import annotations

from sqlalchemy import func, select

from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from charitylink.mail.models import OutboxMail
from charitylink.orgs import services as orgs
from tests.factories import make_uscc


def _count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _form(email: str, n: int) -> dict:  # type: ignore[type-arg]
    return {
        "name": f"冒名公益协会{n}",
        "uscc": make_uscc(9000 + n),
        "org_type": "social_group",
        "region_code": "220102",
        "description": "本会致力于社区帮扶。",
        "contact_name": "联系人李四",
        "contact_phone": "13911112222",
        "contact_email": "contact@example.org",
        "website": "",
        "admin_email": email,
        "admin_name": "管理员王五",
        "admin_password": "a-long-password-123",
    }


def test_the_owner_is_mailed_once_an_hour_and_nothing_is_audited(app, create_user):
    owner = create_user("moderator", email="owner@example.org")
    audits = _count(AuditEvent)
    result = orgs.register_org(_form("owner@example.org", 1))
    db.session.commit()
    assert result.org is None and result.user is None
    row = db.session.scalars(select(OutboxMail)).one()
    assert row.to_address == "owner@example.org" and row.user_id == owner.id
    assert row.kind is None  # not a notification kind: no unsubscribe link
    assert "冒名公益协会1" in row.text_body and "/forgot" in row.text_body
    assert "https://cl.example.gov.cn/login" in row.html_body
    for private in ("13911112222", "联系人李四", "管理员王五", "a-long-password"):
        assert private not in row.text_body + row.html_body + row.subject
    assert _count(AuditEvent) == audits

    orgs.register_org(_form("owner@example.org", 2))  # again within the hour
    db.session.commit()
    assert _count(OutboxMail) == 1
