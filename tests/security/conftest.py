"""A small world with one user per role, shared by the security tests.

Roles (docs/product.md): public, member and admin of org A, admin of org B, a moderator
whose region covers the world's objects (``22``, Jilin), one whose region does
not (``62``, Gansu), and a platform admin. Objects: org A's fund, published
project and a reserved claim (with evidence delivered on a second claim) on a
published need in 220102.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from charitylink.extensions import db
from tests.factories import org_admin_of

ROLES = ("public", "member_a", "admin_a", "admin_b", "mod_in", "mod_out", "admin")


def jpeg_with_exif() -> bytes:
    """A small JPEG whose EXIF says where it was taken (GPS) and by which phone."""
    import io

    from PIL import Image

    img = Image.new("RGB", (32, 24), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model-X"  # Model
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (43.0, 52.0, 48.0)
    gps[3] = "E"
    gps[4] = (125.0, 19.0, 12.0)
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    return out.getvalue()


@dataclass
class World:
    users: dict[str, Any] = field(default_factory=dict)
    org_a: Any = None
    org_b: Any = None
    fund_a: Any = None
    project_a: Any = None
    need: Any = None
    claim: Any = None
    delivered_claim: Any = None
    offer_a: Any = None  # an open offer of org A (matching)

    def user(self, role: str) -> Any:
        if role == "public":
            return None
        user = self.users[role]
        db.session.refresh(user)  # session_version may have moved (logout)
        return user


@pytest.fixture
def world(
    app, create_user, create_org, create_fund, create_project, create_need
) -> World:  # type: ignore[no-untyped-def]
    from charitylink.claims import services as claims
    from charitylink.core.timeutil import today

    w = World()
    w.org_a = create_org(name="甲慈善基金会")
    w.org_b = create_org(name="乙慈善基金会")
    w.users["admin_a"] = org_admin_of(w.org_a)
    w.users["admin_b"] = org_admin_of(w.org_b)
    w.users["member_a"] = create_user("org_member", org=w.org_a)
    w.users["mod_in"] = create_user("moderator", region_prefix="22")
    w.users["mod_out"] = create_user("moderator", region_prefix="62")
    w.users["admin"] = create_user("admin")
    w.fund_a = create_fund(org=w.org_a, donations_fen=100_000_00)
    w.project_a = create_project(fund=w.fund_a)
    w.need = create_need(amount_fen=300_000, entered_by=w.users["mod_in"])
    other = create_need(amount_fen=200_000, entered_by=w.users["mod_in"])
    w.claim = claims.claim_need(w.need, w.users["member_a"], w.fund_a, 100_000)
    w.delivered_claim = claims.claim_need(other, w.users["member_a"], w.fund_a, 200_000)
    claims.deliver_claim(
        w.delivered_claim,
        w.users["member_a"],
        200_000,
        today() - timedelta(days=1),
        "cash",
        note="已转账",
        evidence=("receipt.jpg", jpeg_with_exif()),
    )
    db.session.commit()
    from tests.security.routes import _complaint_of

    _complaint_of(w)  # a complaint about org A, before anyone reads the world
    _offer_of(w)
    return w


def _offer_of(w: World) -> None:
    """Org A's open offer (matching); written through the model."""
    from charitylink.core.timeutil import today
    from charitylink.offers.models import Offer

    w.offer_a = Offer(
        org_id=w.org_a.id,
        kind="service",
        title="上门照护服务",
        need_types=["medical"],
        region_prefix="22",
        unit="次",
        capacity_per_month=10,
        unit_value_fen=10_000,
        start_on=today(),
    )
    db.session.add(w.offer_a)
    db.session.commit()


def audit_count() -> int:
    from charitylink.core.audit import AuditEvent

    return db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def state_counts() -> tuple[int, ...]:
    """Rows of every table a refused request must not touch."""
    from charitylink.core.audit import AuditEvent
    from charitylink.models import LedgerEntry
    from charitylink.notifications.models import Notification

    db.session.expire_all()
    read = select(func.count()).where(Notification.read_at.is_not(None))
    return (
        *(
            db.session.scalar(select(func.count()).select_from(model)) or 0
            for model in (AuditEvent, LedgerEntry)
        ),
        db.session.scalar(read) or 0,
    )
